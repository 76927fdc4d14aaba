"""Content fuzzing: hypothesis-made MO bytes, with every kind of data_coding, through the whole
path (simulator → SMPP → worker → PostgreSQL → reply). Each MO must be acknowledged with 0,
stored byte for byte, answered with the documented reply (or not at all for an invalid sender),
and leave an account only when its outcome is ok. Fast enough for `make test`: one in-process
worker (smsreg.runner.run on a thread) serves every example.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smsreg import codec, config, passwords, register, replies, runner
from smsreg.replies import Outcome
from smsreg.smsc import MoSpec
from tests.conftest import make_config
from tests.faults import invariants, stream, workers
from tests.faults.stream import RecordingSimulator

WAIT_S = 15.0
CODINGS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0x11, 0x18, 0xF0, 0xF3, 0xF4, 0xF7, 0xFF)
TEXT_CODINGS = (0, 1, 3, 8)
NASTY = (
    "TK,Robert'); DROP TABLE account;--,048090000001,01.02.1990",
    "TK,Nguyen Van An,048090000001,01.02.1990'; SELECT pg_sleep(10);--",
    "TK,Nguyen\x00Van An,048090000001,01.02.1990",
    "\x00\x00\x00",
    "TK,%s %s %s,%(id)s,$1",
    "TK,O'Brien Van An,{id},01.02.1990",
    "TK,\\x00\\' \\\\ Van An,{id},01.02.1990",
    "TK,Nguyễn Văn An,{id},01.02.1990",
    "tk , nguyen van an ; {id} ; 1/2/1990",
    "TK,Nguyen Van An,{id},01.02.1990" + "\u202e\u200b\ufeff",
    "TK,𝐍𝐠𝐮𝐲𝐞𝐧 Van An,{id},01.02.1990",
    "",
)
_numbers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Fuzzed:
    """Raw user data, or a text ('{id}' becomes a fresh ID number) encoded in data_coding."""

    content: bytes | str
    data_coding: int
    via: str
    valid_sender: bool


def _encode(text: str, coding: int) -> bytes:
    try:
        return codec.encode_text(text, coding)
    except (ValueError, UnicodeEncodeError):
        return text.encode("utf-16-be", "surrogatepass")


@st.composite
def fuzzed(draw: st.DrawFn) -> Fuzzed:
    kind = draw(st.sampled_from(("bytes", "text", "registration", "nasty")))
    coding = draw(st.sampled_from(CODINGS))
    content: bytes | str
    if kind == "bytes":
        content = draw(st.binary(max_size=200))
    else:
        if kind == "text":
            content = draw(st.text(max_size=80))
        elif kind == "nasty":
            content = draw(st.sampled_from(NASTY))
        else:
            name = draw(st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=30))
            content = f"TK,{name} Van An,{{id}},01.02.1990"
        coding = draw(st.sampled_from(TEXT_CODINGS)) if draw(st.booleans()) else coding
    via = draw(st.sampled_from(("short_message", "short_message", "message_payload", "udh", "sar")))
    return Fuzzed(content, coding, via, draw(st.integers(0, 9)) > 0)


@dataclass
class InProcessWorker:
    cfg: config.Config
    stop: threading.Event
    thread: threading.Thread
    result: list[int]


@pytest.fixture
def worker(dsn: str, smsc: RecordingSimulator) -> Iterator[InProcessWorker]:
    env = {k: v for k, v in workers.WORKER_ENV.items() if k.startswith("SMSREG_")}
    cfg = make_config(dsn, **{**env, "SMSREG_SMPP_HOST": smsc.address[0],
                              "SMSREG_SMPP_PORT": str(smsc.address[1]), "SMSREG_METRICS_ENABLED": "false"})
    stop, result = threading.Event(), []
    thread = threading.Thread(target=lambda: result.append(runner.run(cfg, stop)), name="fuzz-runner", daemon=True)
    thread.start()
    assert smsc.wait_bound(1, WAIT_S)
    yield InProcessWorker(cfg, stop, thread, result)
    stop.set()
    thread.join(30)
    assert result == [0]


def _send(smsc: RecordingSimulator, item: Fuzzed) -> tuple[MoSpec, str]:
    n = next(_numbers)
    source = stream.phone(n) if item.valid_sender else f"VNPT{n}"
    content = item.content
    payload = content if isinstance(content, bytes) else _encode(content.replace("{id}", stream.id_number(n)),
                                                                 item.data_coding)
    parts = 2 if item.via in ("udh", "sar") and len(payload) >= 4 else None
    via = item.via if parts else ("message_payload" if len(payload) > 254 else "short_message")
    spec = MoSpec(payload=payload, source=source, data_coding=item.data_coding, via=via, parts=parts,  # type: ignore[arg-type]
                  source_ton=1 if item.valid_sender else 5)
    return spec, stream.phone(n)


def _expected(cfg: config.Config, spec: MoSpec) -> register.Prepared:
    mo = register.Mo(spec.source, spec.dest, spec.data_coding, spec.user_data(), dt.datetime.now(dt.UTC),
                     spec.source_ton)
    return register.Registrar(cfg).prepare(mo)


def _check(smsc: RecordingSimulator, dsn: str, cfg: config.Config, sent: list[tuple[MoSpec, str, Any]]) -> None:
    hasher = passwords.Hasher(cfg.passwords)
    for spec, _, handle in sent:
        assert handle.wait_acked(WAIT_S), f"not acknowledged with 0: {handle.statuses} for {spec}"
    for spec, phone, _ in sent:
        prepared = _expected(cfg, spec)
        key = register.redelivery_key(prepared.mo)
        stored = invariants.rows(dsn, "SELECT payload, data_coding, text, outcome, account_id "
                                      "FROM inbound_sms WHERE redelivery_key = %s", (key,))
        assert len(stored) == 1, (spec, stored)
        payload, coding, text, outcome, account_id = stored[0]
        assert (bytes(payload), coding) == (spec.user_data(), spec.data_coding)
        assert text == (None if prepared.text is None else prepared.text.replace("\x00", "\ufffd"))
        accounts = invariants.rows(dsn, "SELECT id, id_number, password_hash FROM account WHERE phone = %s",
                                   (phone,))
        if prepared.phone is None:
            assert outcome == Outcome.INVALID_SENDER and not accounts
            continue
        want = Outcome.OK if hasattr(prepared.parsed, "id_number") else Outcome.SYNTAX_ERROR
        assert outcome == want, (spec, outcome, prepared.parsed)
        reply = _reply_to(smsc, phone)
        if want is Outcome.OK:
            [(acct_id, number, password_hash)] = accounts
            assert account_id == acct_id
            match = invariants.PASSWORD_IN_TEXT.search(reply)
            assert match is not None and hasher.verify(password_hash, match[1])
            assert reply == replies.render(cfg.replies, Outcome.OK, number, match[1])
        else:
            assert not accounts and account_id is None
            assert reply == replies.render(cfg.replies, Outcome.SYNTAX_ERROR)
    stray = [r.destination for r in smsc.replies if not r.destination.startswith("8490")]
    assert not stray


def _reply_to(smsc: RecordingSimulator, phone: str) -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = [r for r in smsc.replies if r.destination == phone]
        if found:
            time.sleep(0.05)
            found = [r for r in smsc.replies if r.destination == phone]
            assert len(found) == 1, found
            return found[0].text or ""
        time.sleep(0.02)
    raise AssertionError(f"no reply to {phone} within {WAIT_S:.0f} s")


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("smsreg")]
    assert not bad, [r.getMessage() for r in bad]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(batch=st.lists(fuzzed(), min_size=1, max_size=20))
@example(batch=[Fuzzed(text, coding, "short_message", True) for text in NASTY for coding in TEXT_CODINGS])
def test_any_mo_bytes_get_the_documented_reply(batch: list[Fuzzed], smsc: RecordingSimulator, dsn: str,
                                               worker: InProcessWorker, caplog: pytest.LogCaptureFixture) -> None:
    sent = []
    for item in batch:
        spec, phone = _send(smsc, item)
        sent.append((spec, phone, smsc.send_spec(spec)))
    _check(smsc, dsn, worker.cfg, sent)
    assert worker.thread.is_alive()
    _no_errors_logged(caplog)
