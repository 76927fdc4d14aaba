"""SMSC→ESME delivery with redelivery: pending responses, response timer, retry queue.

One scheduler thread handles timers; first attempts are sent straight from the caller's
thread so the flood hot path costs no thread hop. Socket writes happen outside the lock.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from smsreg.smsc import pdus
from smsreg.smsc.records import (
    ANSWERED,
    CANCELLED,
    LINK_LOST,
    TIMEOUT,
    Attempt,
    Delivery,
)

logger = logging.getLogger(__name__)

_MAX_SEQUENCE = 0x7FFFFFFF
# Timer resolution. Every attempt leaves a response-timer entry behind, even once answered;
# waking for each would cost thousands of wakeups per second under flood.
TICK_S = 0.02
_Finished = list[tuple[Delivery, int | None]]


class Link(Protocol):
    """The part of an ESME link the dispatcher uses."""

    link_id: int

    def send(self, data: bytes) -> bool:
        """Write a whole PDU; False if the link is gone."""


class Dispatcher:
    """Delivers PDUs to bound ESMEs, retrying on error status, timeout or lost link."""

    def __init__(self, *, pick_link: Callable[[], Link | None], silenced_for: Callable[[], float],
                 retry_delay_s: float, max_retries: int, response_timeout_s: float) -> None:  # fmt: skip
        self._pick_link = pick_link
        self._silenced_for = silenced_for
        self.retry_delay_s = retry_delay_s
        self.max_retries = max_retries
        self.response_timeout_s = response_timeout_s
        # Entered through the RLock itself: Condition.__enter__ is a Python-level call per use.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._pending: dict[int, tuple[Delivery, Attempt]] = {}
        self._waiting: deque[Delivery] = deque()
        # (when, tiebreak, sequence, delivery): sequence > 0 is a response timer,
        # otherwise the delivery is due for another attempt.
        self._heap: list[tuple[float, int, int, Delivery | None]] = []
        # Response timers in sending order: with one response_timeout_s their deadlines only
        # grow, so a deque (append, popleft) keeps them sorted for a fraction of a heap's cost
        # under flood. A deadline earlier than the last (the timeout was lowered) takes the heap.
        self._timers: deque[tuple[float, int]] = deque()
        self._tiebreak = itertools.count()
        self._sequence = 0
        self._kicked = False
        self._stopped = False
        self.stats = {"mo_attempts": 0, "mo_retries": 0, "mo_acked": 0, "mo_failed": 0, "late_resps": 0}
        self._thread = threading.Thread(target=self._run, name="smsc-dispatcher", daemon=True)

    def start(self) -> None:
        """Start the timer thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the timer thread; every unfinished delivery ends with final_status None."""
        with self._lock:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._lock:
            for _delivery, attempt in self._pending.values():
                attempt.outcome = CANCELLED
            unfinished = [d for d, _ in self._pending.values()] + list(self._waiting)
            unfinished += [d for _, _, seq, d in self._heap if d is not None and seq == 0]
            self._pending.clear()
            self._waiting.clear()
            self._heap.clear()
            self._timers.clear()
        for delivery in unfinished:
            if not delivery.done:
                delivery.finish(None)

    def dispatch(self, delivery: Delivery, at: float | None = None) -> None:
        """Queue a delivery: now (sent from this thread if a link is free) or at a monotonic time."""
        with self._lock:
            if at is not None:
                self._schedule(at, delivery)
                return
            self._waiting.append(delivery)
            taken = self._take_all()
            if self._waiting:  # no link, or silenced: the timer thread takes over
                self.wake_locked()
        self._send(taken)

    def wake(self) -> None:
        """Tell the timer thread that a link was bound or a fault changed."""
        with self._lock:
            self.wake_locked()

    def wake_locked(self) -> None:
        """wake() for callers already holding the lock."""
        self._kicked = True
        self._cond.notify_all()

    def stats_snapshot(self) -> dict[str, int]:
        """A copy of the MO counters (attempts, retries, acked, failed, late responses)."""
        with self._lock:
            return dict(self.stats)

    def next_sequence(self) -> int:
        """A sequence number for an SMSC-originated PDU outside the delivery machinery."""
        with self._lock:
            return self._next_sequence()

    def on_response(self, link_id: int, sequence: int, status: int) -> None:
        """A deliver_sm_resp / data_sm_resp / generic_nack for one of our PDUs arrived."""
        with self._lock:
            entry = self._pending.pop(sequence, None)
            if entry is None:
                self.stats["late_resps"] += 1
                return
            delivery, attempt = entry
            attempt.answered_at = time.monotonic()
            if status == pdus.ESME_ROK:
                attempt.outcome, attempt.status = ANSWERED, status
                self._count(delivery, "mo_acked")
                finished: _Finished = [(delivery, status)]
            else:
                finished = self._fail(delivery, attempt, ANSWERED, status)
        self._finish(finished)

    def on_link_closed(self, link_id: int) -> None:
        """Every attempt still waiting on that link is lost: schedule its retry."""
        finished: _Finished = []
        with self._lock:
            lost = [seq for seq, (_, a) in self._pending.items() if a.link_id == link_id]
            for seq in lost:
                delivery, attempt = self._pending.pop(seq)
                finished += self._fail(delivery, attempt, LINK_LOST, None)
            self.wake_locked()
        if lost:
            logger.info("link %d closed with %d unanswered PDUs; they will be redelivered", link_id, len(lost))
        self._finish(finished)

    def _fail(self, delivery: Delivery, attempt: Attempt, outcome: str, status: int | None) -> _Finished:
        """Record a failed attempt (lock held); schedule a retry or give up."""
        attempt.outcome, attempt.status = outcome, status
        if len(delivery.attempts) > self.max_retries:
            self._count(delivery, "mo_failed")
            logger.warning("giving up on a %s after %d attempts (last: %s %r)",
                           delivery.kind, len(delivery.attempts), outcome, status)  # fmt: skip
            return [(delivery, status)]
        self._schedule(time.monotonic() + self.retry_delay_s, delivery)
        return []

    def _count(self, delivery: Delivery, key: str) -> None:
        if delivery.kind == "mo":  # receipts are counted by the recorder
            self.stats[key] += 1

    def _schedule(self, when: float, delivery: Delivery) -> None:
        heapq.heappush(self._heap, (when, next(self._tiebreak), 0, delivery))
        self.wake_locked()

    @staticmethod
    def _finish(finished: _Finished) -> None:
        # Outside the lock: finishing runs the MO handle's callbacks.
        for delivery, status in finished:
            delivery.finish(status)

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def _take(self) -> tuple[Link, Delivery, int] | None:
        """Pick the next waiting delivery and a link, register the attempt (lock held)."""
        if not self._waiting or self._stopped or self._silenced_for() > 0:
            return None
        link = self._pick_link()
        if link is None:
            return None
        delivery = self._waiting.popleft()
        sequence = self._next_sequence()
        attempt = Attempt(sequence, link.link_id, time.monotonic())
        delivery.attempts.append(attempt)
        self._pending[sequence] = (delivery, attempt)
        self._start_timer(attempt.sent_at + self.response_timeout_s, sequence)
        self._count(delivery, "mo_attempts")
        if len(delivery.attempts) > 1:
            self._count(delivery, "mo_retries")
        return link, delivery, sequence

    def _start_timer(self, deadline: float, sequence: int) -> None:
        """Arm the response timer of one attempt (lock held)."""
        timers, heap = self._timers, self._heap
        if not timers or timers[-1][0] <= deadline:
            timers.append((deadline, sequence))
            earliest = len(timers) == 1 and (not heap or deadline < heap[0][0])
        else:
            heapq.heappush(heap, (deadline, next(self._tiebreak), sequence, None))
            earliest = heap[0][2] == sequence and deadline < timers[0][0]
        if earliest:  # the timer thread may be sleeping past it
            self.wake_locked()

    def _take_all(self) -> list[tuple[Link, Delivery, int]]:
        """Register an attempt for every waiting delivery a link can take now (lock held)."""
        taken = []
        while (one := self._take()) is not None:
            taken.append(one)
        return taken

    @staticmethod
    def _send(taken: list[tuple[Link, Delivery, int]]) -> None:
        # Outside the lock. A failed write aborts the link; its close then fails the attempt.
        for link, delivery, sequence in taken:
            link.send(pdus.pack(delivery.command_id, sequence, delivery.body))

    def _pump(self) -> None:
        """Send waiting deliveries while a link is free and the SMSC is not silenced."""
        with self._lock:
            taken = self._take_all()
        self._send(taken)

    def _fire_due(self, now: float) -> _Finished:
        """Expire response timers and move due retries to the waiting queue (lock held)."""
        finished: _Finished = []
        timers = self._timers
        while timers and timers[0][0] <= now:  # before the heap: a retry it schedules may be due now
            entry = self._pending.pop(timers.popleft()[1], None)
            if entry is not None:
                finished += self._fail(entry[0], entry[1], TIMEOUT, None)
        while self._heap and self._heap[0][0] <= now:
            _, _, sequence, delivery = heapq.heappop(self._heap)
            if delivery is not None:
                self._waiting.append(delivery)
                continue
            entry = self._pending.pop(sequence, None)
            if entry is not None:
                finished += self._fail(entry[0], entry[1], TIMEOUT, None)
        return finished

    def _wait_time(self, now: float) -> float | None:
        waits = []
        if self._heap:
            waits.append(self._heap[0][0] - now)
        if self._timers:
            waits.append(self._timers[0][0] - now)
        if self._waiting:
            silence = self._silenced_for()
            if silence > 0:
                waits.append(silence)
        return max(TICK_S, min(waits)) if waits else None

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopped:
                    return
                self._kicked = False
                finished = self._fire_due(time.monotonic())
            self._finish(finished)
            self._pump()
            with self._lock:
                if not self._kicked and not self._stopped:
                    self._cond.wait(self._wait_time(time.monotonic()))
