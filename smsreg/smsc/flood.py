"""Flood mode for benchmarks: keep a window of MOs in flight and measure the latencies.

A reply is matched to its MO by MSISDN (reply destination == MO source), so a benchmark
generator must give each MoSpec its own source number.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from smsreg.smsc import esme
from smsreg.smsc.mo import MoSpec
from smsreg.smsc.recorder import Recorder
from smsreg.smsc.records import MoHandle, Reply

SendSpec = Callable[[MoSpec, Callable[[MoHandle], None]], MoHandle]

# MOs sent together go out in one write at the end of the batch, so each one waits for the
# messages iterator to give the next. That is free while it gives them at once (a flood), not
# when it sleeps between them (the benchmark's paced load): MOs are held back only after
# FAST_STREAK immediate answers in a row, and an MO goes out before any wait that follows a
# slow one. (Worst case: a paced iterator that fell FAST_STREAK MOs behind holds one MO
# for one pacing interval.)
FAST_STREAK = 4
FAST_NEXT_S = 0.0005


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
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._sent_at: dict[str, float] = {}
        self.latencies: list[float] = []

    def sent(self, source: str) -> None:
        with self._lock:
            self._sent_at[source] = time.monotonic()

    def __call__(self, reply: Reply) -> None:
        with self._lock:
            started = self._sent_at.pop(reply.destination, None)
            if started is None:
                return
            self.latencies.append(time.monotonic() - started)
            if not self._sent_at:
                self._cond.notify_all()

    def wait_all(self, timeout: float) -> int:
        """Wait for the outstanding replies; return how many never came."""
        with self._lock:
            self._cond.wait_for(lambda: not self._sent_at, timeout)
            return len(self._sent_at)


class _Window:
    """The free places in the flood's window: freed one by one as MOs finish (on the links'
    reader threads), taken all at once by the flood thread so that the MOs it then sends
    go out in one write (esme.batched_writes)."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()  # entered directly: cheaper than through the Condition
        self._cond = threading.Condition(self._lock)
        self._free = size
        self._waiting = False

    def release(self, _handle: MoHandle | None = None) -> None:
        """One MO finished."""
        with self._lock:
            self._free += 1
            if self._waiting:  # notify() costs more than this whole method: skip it when nobody waits
                self._cond.notify()

    def take(self, timeout: float) -> int:
        """Wait until some places are free and take them all; TimeoutError if none frees in time."""
        with self._lock:
            if not self._free:
                self._wait(lambda: self._free > 0, timeout)
            free, self._free = self._free, 0
            return free

    def give_back(self, n: int) -> None:
        """Places taken but not used."""
        with self._lock:
            self._free += n

    def wait_all_free(self, size: int, timeout: float) -> None:
        """Wait for every MO to finish; TimeoutError if none finishes within timeout."""
        with self._lock:
            while self._free < size:
                self._wait_change(self._free, timeout)

    def _wait_change(self, free: int, timeout: float) -> None:
        self._wait(lambda: self._free != free, timeout)

    def _wait(self, predicate: Callable[[], bool], timeout: float) -> None:
        self._waiting = True
        try:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(f"no MO finished within {timeout:.1f} s: is an ESME bound and answering?")
        finally:
            self._waiting = False


def run_flood(send: SendSpec, recorder: Recorder, messages: Iterable[MoSpec], window: int, *,
              reply_timeout_s: float, ack_timeout_s: float) -> FloodResult:  # fmt: skip
    """Send messages keeping at most window unfinished; raises TimeoutError if the ESME stalls."""
    if window < 1:
        raise ValueError("window must be >= 1")
    places = _Window(window)
    matcher = _ReplyMatcher()
    handles: list[MoHandle] = []
    recorder.add_listener(matcher)
    try:
        started = time.monotonic()
        specs = iter(messages)
        more = True
        fast = 0  # how many next(specs) in a row returned at once
        while more:
            free = places.take(ack_timeout_s)
            with esme.batched_writes():
                for _ in range(free):
                    if fast < FAST_STREAK:
                        esme.flush_batch()  # the next one may be slow in coming (a paced load)
                    asked = time.monotonic()
                    spec = next(specs, None)
                    fast = fast + 1 if time.monotonic() - asked < FAST_NEXT_S else 0
                    if spec is None:
                        places.give_back(free)
                        more = False
                        break
                    free -= 1
                    matcher.sent(spec.source)
                    handles.append(send(spec, places.release))
        places.wait_all_free(window, ack_timeout_s)
        missing = matcher.wait_all(reply_timeout_s) if reply_timeout_s > 0 else 0
    finally:
        recorder.remove_listener(matcher)
    return _result(handles, started, matcher.latencies, missing)


def _result(handles: list[MoHandle], started: float, reply_latencies: list[float], missing: int) -> FloodResult:
    # One pass over the handles, reading the fields the MoHandle properties would derive them from.
    last = None
    acked = failed = 0
    acks = []
    for handle in handles:
        finished_at = handle.finished_at
        if finished_at is None:
            continue
        last = finished_at if last is None or finished_at > last else last
        if not all(part.final_status == 0 for part in handle.parts):
            failed += 1
            continue
        acked += 1
        first_sent = min((a.sent_at for part in handle.parts for a in part.attempts), default=None)
        if first_sent is not None:
            acks.append(finished_at - first_sent)
    return FloodResult(
        sent=len(handles),
        acked=acked,
        failed=failed,
        elapsed_s=(last - started) if last is not None else 0.0,
        ack_latencies_s=acks,
        reply_latencies_s=list(reply_latencies),
        missing_replies=missing,
    )
