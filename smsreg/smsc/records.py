"""What the simulator remembers for assertions: MO attempts, accepted submits, replies, counters.

Delivery and Attempt objects are mutated only by the dispatcher under its lock; the read-side
properties here copy what they return, so tests can poll them from any thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Attempt outcomes.
PENDING = "pending"
ANSWERED = "answered"  # a *_resp arrived (status says whether it was accepted)
TIMEOUT = "timeout"  # no response within the response timer
LINK_LOST = "link_lost"  # the link closed before the response
CANCELLED = "cancelled"  # the simulator stopped

ENCODING_NAMES = {0: "GSM-7", 1: "ASCII", 3: "Latin-1", 8: "UCS-2"}


def encoding_name(data_coding: int) -> str:
    """Human name of a data_coding value, for reports and the CLI."""
    return ENCODING_NAMES.get(data_coding, f"dc=0x{data_coding:02x}")


@dataclass(slots=True)
class Attempt:
    """One transmission of one PDU to one ESME link."""

    sequence: int
    link_id: int
    sent_at: float
    outcome: str = PENDING
    status: int | None = None
    answered_at: float | None = None


class Delivery:
    """One SMSC→ESME PDU (an MO part or a receipt) and every attempt to deliver it."""

    __slots__ = ("_on_done", "attempts", "body", "command_id", "done", "final_status", "kind")

    def __init__(self, command_id: int, body: bytes, kind: str = "mo") -> None:
        self.command_id = command_id
        self.body = body  # encoded once; each attempt only packs a new header
        self.kind = kind
        self.attempts: list[Attempt] = []
        self.done = False
        self.final_status: int | None = None  # 0 accepted; else last status; None = never answered
        self._on_done: Callable[[Delivery], None] | None = None

    def finish(self, status: int | None) -> None:
        """Mark the final outcome (dispatcher only) and notify the owner."""
        self.done = True
        self.final_status = status
        if self._on_done is not None:
            self._on_done(self)


# One lock for every handle's bookkeeping: a few attribute writes under it, and a lock (plus
# an Event) per handle would cost ~0.5 KB per MO in a 100k-MO benchmark.
_HANDLES_LOCK = threading.Lock()


class MoHandle:
    """A mobile-originated message as sent by send_mo: one or more PDUs and their attempts."""

    __slots__ = ("_callbacks", "_event", "_remaining", "created_at", "destination", "finished_at", "id",
                 "parts", "source", "text")  # fmt: skip

    def __init__(self, mo_id: int, source: str, destination: str, text: str | None,
                 deliveries: list[Delivery]) -> None:  # fmt: skip
        self.id = mo_id
        self.source = source
        self.destination = destination
        self.text = text
        self.parts: tuple[Delivery, ...] = tuple(deliveries)
        self.created_at = time.monotonic()
        self.finished_at: float | None = None
        self._remaining = len(deliveries)
        self._event: threading.Event | None = None  # made by the first waiter
        self._callbacks: list[Callable[[MoHandle], None]] | None = None
        for delivery in deliveries:
            delivery._on_done = self._part_done  # the handle owns its parts

    def _part_done(self, _delivery: Delivery) -> None:
        with _HANDLES_LOCK:
            self._remaining -= 1
            if self._remaining:
                return
            self.finished_at = time.monotonic()
            callbacks, self._callbacks = self._callbacks, None
            event = self._event
        if event is not None:
            event.set()
        for callback in callbacks or ():
            callback(self)

    def add_done_callback(self, callback: Callable[[MoHandle], None]) -> None:
        """Call callback(handle) once every part has its final outcome (maybe right now)."""
        with _HANDLES_LOCK:
            if self.finished_at is None:
                self._callbacks = [*(self._callbacks or ()), callback]
                return
        callback(self)

    @property
    def done(self) -> bool:
        """True once every part has been acknowledged or has run out of retries."""
        return self.finished_at is not None

    @property
    def acked(self) -> bool:
        """True when every part was finally accepted with deliver_sm_resp status 0."""
        return self.done and all(d.final_status == 0 for d in self.parts)

    @property
    def attempts(self) -> list[Attempt]:
        """Every attempt of every part, in sending order."""
        return sorted((a for d in self.parts for a in list(d.attempts)), key=lambda a: a.sent_at)

    @property
    def sequences(self) -> list[int]:
        """The sequence_number of each deliver_sm / data_sm sent for this MO."""
        return [a.sequence for a in self.attempts]

    @property
    def statuses(self) -> list[int | None]:
        """Each attempt's response status (None: no response, link lost or timed out)."""
        return [a.status for a in self.attempts]

    @property
    def final_status(self) -> int | None:
        """0 when acked; otherwise the first failing part's last status (None: never answered)."""
        for delivery in self.parts:
            if delivery.final_status != 0:
                return delivery.final_status
        return 0 if self.done else None

    @property
    def ack_latency_s(self) -> float | None:
        """From the first transmission to the last part's accepting response."""
        attempts = self.attempts
        if not self.acked or not attempts or self.finished_at is None:
            return None
        return self.finished_at - attempts[0].sent_at

    def wait_done(self, timeout: float | None = None) -> bool:
        """Block until every part has its final outcome; False on timeout."""
        with _HANDLES_LOCK:
            if self.finished_at is not None:
                return True
            if self._event is None:
                self._event = threading.Event()
            event = self._event
        return event.wait(timeout)

    def wait_acked(self, timeout: float | None = None) -> bool:
        """Block until done; True only if every part was accepted (status 0)."""
        return self.wait_done(timeout) and self.acked

    def __repr__(self) -> str:
        return f"MoHandle(id={self.id}, parts={len(self.parts)}, statuses={self.statuses!r})"


@dataclass(frozen=True, slots=True)
class Submit:
    """One submit_sm (or data_sm) the simulator accepted."""

    link_id: int
    sequence: int
    command_id: int
    source: str
    destination: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    raw: bytes  # the user data exactly as received (UDH included)
    message_id: str
    received_at: float


@dataclass(frozen=True, slots=True)
class Reply:
    """A citizen-facing message: one submit, or all segments of a concatenated one."""

    destination: str
    source: str
    data_coding: int
    esm_class: int
    text: str | None  # None when the data_coding or octets are not decodable text
    parts: tuple[Submit, ...]
    payload: bytes  # the user data of all segments, UDH removed, in segment order
    received_at: float

    @property
    def segments(self) -> int:
        """How many submit_sm PDUs carried this reply."""
        return len(self.parts)

    @property
    def message_ids(self) -> tuple[str, ...]:
        """The SMSC message ids given back for each segment."""
        return tuple(p.message_id for p in self.parts)

    @property
    def message_id(self) -> str:
        """The first segment's message id."""
        return self.parts[0].message_id

    @property
    def raw(self) -> bytes:
        """The octets of the first segment as received (UDH included)."""
        return self.parts[0].raw

    @property
    def registered_delivery(self) -> bool:
        """Whether a delivery receipt was requested."""
        return any(p.registered_delivery & 1 for p in self.parts)

    @property
    def encoding(self) -> str:
        """GSM-7, UCS-2, ..."""
        return encoding_name(self.data_coding)


@dataclass(frozen=True, slots=True)
class ReceiptSent:
    """A delivery receipt the simulator delivered (or tried to)."""

    message_id: str
    destination: str  # of the original submit: the citizen
    state: int
    delivery: Delivery = field(compare=False)


@dataclass(slots=True)
class Counters:
    """Event counts since start (a snapshot when read through Simulator.counters)."""

    binds: int = 0
    bind_failures: int = 0
    submits: int = 0  # submit_sm / data_sm PDUs received while bound
    replies: int = 0
    throttled: int = 0
    duplicates: int = 0  # replies with the same destination and text as an earlier one
    lost_resps: int = 0  # submits accepted whose resp was replaced by a dropped link
    silenced: int = 0  # request PDUs read and ignored during silence()
    mo_attempts: int = 0
    mo_retries: int = 0
    mo_acked: int = 0
    mo_failed: int = 0
    late_resps: int = 0  # responses to a sequence no longer pending
    receipts: int = 0
    generic_nacks: int = 0  # generic_nack PDUs sent
    malformed: int = 0
