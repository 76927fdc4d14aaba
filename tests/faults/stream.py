"""The mixed MO stream of the fault scenarios (valid, invalid, duplicate ID/phone, identical
resends, UCS-2, concatenated, binary, invalid senders, SQL metacharacters) with the outcomes each
MO may get; the feeder that sends it at a steady rate; the simulator that also records link closes.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from smsreg import msisdn, register
from smsreg.smsc import MoHandle, MoSpec, Simulator
from tests.citizens import id_number, phone, reg_text

OK, SYNTAX, DUP_ID, DUP_PHONE = "ok", "syntax_error", "duplicate_id", "duplicate_phone"
INVALID_SENDER = "invalid_sender"
REGISTRATION = frozenset({OK, DUP_ID, DUP_PHONE})

UCS2_NAMES = ("Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Đức", "Phạm Thị Ánh Tuyết", "Võ Văn Kiệt")
SQL_VALID_NAMES = ("O'Brien Van An", "D'Arcy Thi Lan")
BAD_TEXTS = (
    "TK,abc {i}",
    "hello {i}",
    "TK,Nguyen Van An,12345{i},01.02.1990",
    "TK,Robert'); DROP TABLE account;-- {i},048090000001,01.02.1990",
    "TK,Nguyen Van An,0480900{i:05d},31.02.1990",
    "TK;%s;%(name)s;{i};$1;\\x00",
    "TK,Nguyen\x00Van An,0480901{i:05d},01.02.1990",
    "DK,Nguyen Van An,0480902{i:05d},01.02.1990",
)




@dataclass(frozen=True, slots=True)
class Planned:
    """One MO of the stream and the outcomes it may get."""

    spec: MoSpec
    kind: str
    allowed: frozenset[str]
    id_number: str | None = None

    @property
    def key(self) -> bytes:
        """inbound_sms.redelivery_key of this MO (identical resends share it)."""
        mo = register.Mo(self.spec.source, self.spec.dest, self.spec.data_coding, self.spec.user_data(),
                         dt.datetime.now(dt.UTC))
        return register.redelivery_key(mo)

    @property
    def phone(self) -> str | None:
        return msisdn.normalize(self.spec.source, self.spec.source_ton)


def mixed_stream(n: int, seed: int, *, first: int = 1) -> list[Planned]:
    """n MOs of every kind, reproducible from seed; numbers start at `first` (keep streams of
    one test apart by giving each its own range)."""
    rng = random.Random(seed)
    out: list[Planned] = []
    numbers = iter(range(first, first + 10 * n + 10))
    valid_phones: list[str] = []
    used_ids: list[str] = []
    weights = {"valid": 30, "ucs2": 8, "concat": 8, "dup_id": 8, "dup_phone": 6, "syntax": 14,
               "sql_valid": 3, "binary": 3, "resend": 8, "invalid_sender": 3, "payload_tlv": 4, "data_sm": 3}
    kinds, w = list(weights), list(weights.values())
    while len(out) < n:
        kind = rng.choices(kinds, w)[0]
        i = next(numbers)
        if kind == "resend" and out:
            out.append(Planned(out[rng.randrange(len(out))].spec, "resend", frozenset()))
            continue
        if kind == "dup_id" and used_ids:
            number = rng.choice(used_ids)
            spec = MoSpec(f"TK,Tran Van Binh,{number},01.02.1990", source=phone(i))
            out.append(Planned(spec, kind, frozenset({OK, DUP_ID}), number))
            continue
        if kind == "dup_phone" and valid_phones:
            spec = MoSpec(reg_text(i, "Le Thi Cuc"), source=rng.choice(valid_phones))
            # A later dup_id MO may take this ID first (workers run concurrently): then the
            # ID conflict is the one reported (domain.md §1 precedence).
            out.append(Planned(spec, kind, frozenset({OK, DUP_PHONE, DUP_ID}), id_number(i)))
            used_ids.append(id_number(i))
            continue
        if kind in ("syntax", "dup_id", "dup_phone", "resend"):
            text = rng.choice(BAD_TEXTS).format(i=i)
            coding = 8 if "\x00" in text else 0
            out.append(Planned(MoSpec(text, source=phone(i), data_coding=coding), "syntax", frozenset({SYNTAX})))
            continue
        if kind == "binary":
            payload = rng.randbytes(rng.randrange(1, 140))
            out.append(Planned(MoSpec(payload=payload, source=phone(i), data_coding=4), kind, frozenset({SYNTAX})))
            continue
        if kind == "invalid_sender":
            spec = MoSpec(reg_text(i), source=f"VNPT{i}", source_ton=5)
            out.append(Planned(spec, kind, frozenset({INVALID_SENDER})))
            continue
        spec = _registration(kind, i, rng)
        out.append(Planned(spec, kind, REGISTRATION, id_number(i)))
        valid_phones.append(phone(i))
        used_ids.append(id_number(i))
    return out


def _registration(kind: str, i: int, rng: random.Random) -> MoSpec:
    if kind == "ucs2":
        return MoSpec(reg_text(i, rng.choice(UCS2_NAMES)), source=phone(i), data_coding=8)
    if kind == "concat":
        text = reg_text(i, "Nguyen Van An")  # parts=2: two segments even for a short text
        coding = rng.choice((0, 8))
        return MoSpec(text, source=phone(i), data_coding=coding, via=rng.choice(("udh", "sar")), parts=2)
    if kind == "sql_valid":
        return MoSpec(reg_text(i, rng.choice(SQL_VALID_NAMES)), source=phone(i))
    if kind == "payload_tlv":
        return MoSpec(reg_text(i), source=phone(i), via="message_payload")
    if kind == "data_sm":
        return MoSpec(reg_text(i), source=phone(i), as_data_sm=True)
    return MoSpec(reg_text(i), source=phone(i), source_ton=rng.choice((1, 0)))


# ---- sending ----------------------------------------------------------------------------------

@dataclass
class Sent:
    planned: Planned
    handle: MoHandle
    sent_at: float


class Feeder:
    """Sends a stream at a steady rate from a thread of its own, so faults land mid-stream."""

    def __init__(self, smsc: Simulator, stream: Sequence[Planned], rate_per_s: float) -> None:
        self.smsc = smsc
        self.stream = list(stream)
        self.rate = rate_per_s
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="faults-feeder", daemon=True)

    def start(self) -> Feeder:
        self._thread.start()
        return self

    @classmethod
    def finished(cls, smsc: Simulator, sent: Sequence[Sent]) -> Feeder:
        """A feeder standing for MOs several feeders sent (for Harness.finish)."""
        feeder = cls(smsc, [], 1.0).start()
        feeder.sent = list(sent)
        return feeder

    def _run(self) -> None:
        started = time.monotonic()
        for n, planned in enumerate(self.stream):
            delay = started + n / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.send(planned)

    def send(self, planned: Planned) -> Sent:
        sent = Sent(planned, self.smsc.send_spec(planned.spec), time.monotonic())
        with self._lock:
            self.sent.append(sent)
        return sent

    @property
    def progress(self) -> float:
        """Fraction of the stream sent so far."""
        with self._lock:
            return len(self.sent) / max(1, len(self.stream))

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the feeder did not finish"

    def wait_done(self, timeout: float) -> list[Sent]:
        """Wait until the simulator has a final outcome for every MO sent; the ones without."""
        deadline = time.monotonic() + timeout
        for sent in list(self.sent):
            sent.handle.wait_done(max(0.0, deadline - time.monotonic()))
        return [s for s in self.sent if not s.handle.done]


class RecordingSimulator(Simulator):
    """The project's simulator, also noting when each ESME link closed (to tell a response lost
    with a dropped link from any other reason for a resent submit_sm)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.link_closed_at: dict[int, float] = {}
        super().__init__(*args, **kwargs)

    def _link_closed(self, link: Any) -> None:
        self.link_closed_at.setdefault(link.link_id, time.monotonic())
        super()._link_closed(link)
