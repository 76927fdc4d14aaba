"""Flood mode for benchmarks: keep a window of MOs in flight and measure the latencies.

A reply is matched to its MO by MSISDN (reply destination == MO source), so a benchmark
generator must give each MoSpec its own source number.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from smsreg.smsc.mo import MoSpec
from smsreg.smsc.recorder import Recorder
from smsreg.smsc.records import MoHandle, Reply

SendSpec = Callable[[MoSpec, Callable[[MoHandle], None]], MoHandle]


@dataclass(slots=True)
class FloodResult:
    """What a flood measured. Latencies are in seconds; elapsed runs from first send to last ack."""

    sent: int = 0
    acked: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    ack_latencies_s: list[float] = field(default_factory=list)  # first deliver_sm → accepting resp
    reply_latencies_s: list[float] = field(default_factory=list)  # first deliver_sm → matching reply
    missing_replies: int = 0  # MOs whose reply did not come within reply_timeout_s

    @property
    def mo_per_s(self) -> float:
        """Acknowledged MOs per second."""
        return self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @staticmethod
    def percentile(values: list[float], q: float) -> float | None:
        """Nearest-rank percentile (q in 0..100) of values; None when empty."""
        if not values:
            return None
        ordered = sorted(values)
        rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1]

    def summary(self) -> dict[str, float | None]:
        """Rates and p50/p99 latencies, for a benchmark report."""
        return {
            "sent": self.sent,
            "acked": self.acked,
            "failed": self.failed,
            "missing_replies": self.missing_replies,
            "mo_per_s": round(self.mo_per_s, 1),
            "ack_p50_s": self.percentile(self.ack_latencies_s, 50),
            "ack_p99_s": self.percentile(self.ack_latencies_s, 99),
            "reply_p50_s": self.percentile(self.reply_latencies_s, 50),
            "reply_p99_s": self.percentile(self.reply_latencies_s, 99),
        }


class _ReplyMatcher:
    """Times each MO from its send to the first reply addressed to its source."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._sent_at: dict[str, float] = {}
        self.latencies: list[float] = []

    def sent(self, source: str) -> None:
        with self._cond:
            self._sent_at[source] = time.monotonic()

    def __call__(self, reply: Reply) -> None:
        with self._cond:
            started = self._sent_at.pop(reply.destination, None)
            if started is None:
                return
            self.latencies.append(time.monotonic() - started)
            if not self._sent_at:
                self._cond.notify_all()

    def wait_all(self, timeout: float) -> int:
        """Wait for the outstanding replies; return how many never came."""
        with self._cond:
            self._cond.wait_for(lambda: not self._sent_at, timeout)
            return len(self._sent_at)


def run_flood(send: SendSpec, recorder: Recorder, messages: Iterable[MoSpec], window: int, *,
              reply_timeout_s: float, ack_timeout_s: float) -> FloodResult:  # fmt: skip
    """Send messages keeping at most window unfinished; raises TimeoutError if the ESME stalls."""
    if window < 1:
        raise ValueError("window must be >= 1")
    slots = threading.Semaphore(window)
    matcher = _ReplyMatcher()
    handles: list[MoHandle] = []
    recorder.add_listener(matcher)
    try:
        started = time.monotonic()
        for spec in messages:
            _acquire(slots, ack_timeout_s)
            matcher.sent(spec.source)
            handles.append(send(spec, lambda _handle: slots.release()))
        for _ in range(window):
            _acquire(slots, ack_timeout_s)
        missing = matcher.wait_all(reply_timeout_s) if reply_timeout_s > 0 else 0
    finally:
        recorder.remove_listener(matcher)
    return _result(handles, started, matcher.latencies, missing)


def _acquire(slots: threading.Semaphore, timeout: float) -> None:
    if not slots.acquire(timeout=timeout):
        raise TimeoutError(f"no MO finished within {timeout:.1f} s: is an ESME bound and answering?")


def _result(handles: list[MoHandle], started: float, reply_latencies: list[float], missing: int) -> FloodResult:
    finished = [h.finished_at for h in handles if h.finished_at is not None]
    acks = [lat for lat in (h.ack_latency_s for h in handles) if lat is not None]
    return FloodResult(
        sent=len(handles),
        acked=sum(1 for h in handles if h.acked),
        failed=sum(1 for h in handles if h.done and not h.acked),
        elapsed_s=(max(finished) - started) if finished else 0.0,
        ack_latencies_s=acks,
        reply_latencies_s=list(reply_latencies),
        missing_replies=missing,
    )
