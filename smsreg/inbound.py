"""The worker pool: each deliver_sm/data_sm is stored and decided in a transaction, and
acknowledged only after that commit (0), or with the temporary status when the database
cannot be reached in time (the SMSC then delivers it again).

MOs that queue up together are committed together (a group commit: one transaction, a few
round trips), each still acknowledged only after that commit. Password hashes are made ahead
of need by a small stock, so a registration's commit does not wait for the slow hash.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import psycopg_pool

from smsreg import codec, concat, config, db, errors, metrics, msisdn, outbox, pdus, receipts, register, stock
from smsreg.replies import Outcome

logger = logging.getLogger(__name__)

Ack = Callable[[int, pdus.Incoming, int], bool]
MAX_GROUP = 64            # MOs committed in one transaction when that many are waiting
PASSWORD_STOCK = 64       # (password, hash) pairs made ahead; plaintext in memory only


@dataclass(frozen=True, slots=True)
class _Job:
    link: int
    mo: pdus.Incoming
    received_at: dt.datetime
    started: float  # monotonic, for the ack latency


_Plan = register.Prepared | receipts.Receipt | concat.Part
_STOP = object()
_T = TypeVar("_T")


class Intake:
    def __init__(self, cfg: config.Config, pool: psycopg_pool.ConnectionPool, registrar: register.Registrar,
                 ack: Ack, stats: metrics.Metrics, wake_sender: Callable[[], None]) -> None:
        self._cfg = cfg
        self._wake_sender = wake_sender  # after each commit that may have queued replies
        self._pool = pool
        self._registrar = registrar
        self._reassembler = concat.Reassembler(registrar)
        self._ack = ack
        self._stats = stats
        self._stock = stock.PasswordStock(cfg.passwords, stats, PASSWORD_STOCK, os.cpu_count() or 1)
        self._queue: queue.Queue[_Job | object] = queue.Queue(maxsize=cfg.smpp.queue_size)
        self._abort = threading.Event()  # cuts DB retries short at a hard stop
        self._threads = [threading.Thread(target=self._work, name=f"smsreg-worker-{i}", daemon=True)
                         for i in range(cfg.smpp.workers)]

    def start(self) -> None:
        self._stock.start()
        for thread in self._threads:
            thread.start()

    def alive(self) -> bool:
        return all(t.is_alive() for t in self._threads)

    def offer(self, link: int, mo: pdus.Incoming) -> None:
        """Called on the session's reader thread: queue, or answer 'queue full' at once."""
        job = _Job(link, mo, dt.datetime.now(dt.UTC), time.monotonic())
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self._ack(link, mo, pdus.ESME_RMSGQFUL)

    def close(self, timeout: float) -> None:
        """Finish (commit and acknowledge) what was queued, then stop; bounded by timeout."""
        deadline = time.monotonic() + timeout
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._abort.set()
        self._stock.close()

    def _work(self) -> None:
        stop = False
        while not stop:
            job = self._queue.get()
            if job is _STOP:
                return
            assert isinstance(job, _Job)
            group, stop = self._more([job])
            self._stats.workers_busy.inc()
            answered: set[int] = set()
            try:
                self._handle(group, answered)
            except Exception:  # a bug must not kill the pool; the MOs are answered 'temporary'
                logger.exception("unexpected error handling MOs", extra={"action": "mo_error"})
                for pending in group:
                    if id(pending) not in answered:
                        self._answer(pending, self._cfg.smpp.temp_error_status)
            finally:
                self._stats.workers_busy.dec()

    def _more(self, group: list[_Job]) -> tuple[list[_Job], bool]:
        """Add what is already queued (never waiting) up to MAX_GROUP; True if a stop was taken."""
        while len(group) < MAX_GROUP:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                return group, True
            assert isinstance(job, _Job)
            group.append(job)
        return group, False

    def _handle(self, group: list[_Job], answered: set[int]) -> None:
        """Plan every MO (CPU work, once), commit the groupable ones together, the rest singly."""
        together: list[tuple[_Job, register.Prepared | receipts.Receipt]] = []
        for job in group:
            if self._stale(job, answered):
                continue
            try:
                plan = self._plan(job)
            except Exception:
                logger.exception("unexpected error reading an MO", extra={"action": "mo_error"})
                self._answer(job, self._cfg.smpp.temp_error_status, answered)
                continue
            if isinstance(plan, concat.Part):
                self._one(job, plan, answered)
            else:
                together.append((job, plan))
        if len(together) == 1:
            self._one(*together[0], answered)
        elif together:
            self._together(together, answered)

    def _together(self, items: list[tuple[_Job, register.Prepared | receipts.Receipt]], answered: set[int]) -> None:
        preps = [plan for _, plan in items if isinstance(plan, register.Prepared)]
        found = [plan for _, plan in items if isinstance(plan, receipts.Receipt)]

        def work(conn: concat.Conn) -> list[register.Result]:
            with conn.transaction():
                results = self._registrar.record_many(conn, preps)
                outbox.record_receipts(conn, found)
            return results
        try:
            results = self._transaction(work)
        except errors.DatabaseUnavailable as exc:
            for job, _ in items:
                self._deferred(job, "unavailable", exc, answered)
            return
        except errors.DatabaseError as exc:
            # One MO the database refuses must not hold back the others: each on its own.
            logger.warning("group of %d MOs refused (%s); committing them one by one", len(items), exc)
            for job, plan in items:
                self._one(job, plan, answered)
            return
        if preps:
            self._wake_sender()
        for (job, _), result in zip([i for i in items if isinstance(i[1], register.Prepared)], results, strict=True):
            self._log(job.mo, result)
        for job, _ in items:
            self._answer(job, pdus.ESME_ROK, answered)

    def _one(self, job: _Job, plan: _Plan, answered: set[int]) -> None:
        """One MO in its own transaction (a part of a concatenated MO, or a group that failed)."""
        work: Callable[[concat.Conn], register.Result | None]
        if isinstance(plan, concat.Part):
            work = lambda conn: self._reassembler.add(conn, plan)  # noqa: E731
        elif isinstance(plan, receipts.Receipt):
            work = lambda conn: (outbox.record_receipt(conn, plan), None)[1]  # noqa: E731
        else:
            work = lambda conn: self._registrar.commit(conn, plan)  # noqa: E731
        try:
            result = self._transaction(work)
        except errors.DatabaseUnavailable as exc:
            self._deferred(job, "unavailable", exc, answered)
            return
        except errors.DatabaseError as exc:
            self._deferred(job, "error", exc, answered)
            return
        if result is not None:
            self._wake_sender()
            self._log(job.mo, result)
        self._answer(job, pdus.ESME_ROK, answered)

    def _transaction(self, work: Callable[[concat.Conn], _T]) -> _T:
        """work(conn) with database retries for at most database.retry_budget_s."""
        for attempt in db.retrying(self._abort, self._cfg.database.retry_budget_s):
            with attempt, db.wrap_errors(), self._pool.connection() as conn:
                started = time.perf_counter()
                result = work(conn)
                self._stats.register_duration.observe(time.perf_counter() - started)
        return result

    def _stale(self, job: _Job, answered: set[int]) -> bool:
        """True (and answered with the temporary status, unprocessed) for an MO that waited in
        the queue longer than smpp.response_timeout_s. The SMSC's own response timer has run
        out by then: it delivers the MO again, so working on this copy would only make every MO
        behind it late as well. Without this a backlog flushed at bind never drains: each ack
        arrives after the SMSC gave up, and every redelivery costs a password hash again."""
        if time.monotonic() - job.started <= self._cfg.smpp.response_timeout_s:
            return False
        logger.debug("MO waited %.1f s in the queue: answered temporary error unprocessed",
                     time.monotonic() - job.started, extra={"action": "mo_stale"})
        self._answer(job, self._cfg.smpp.temp_error_status, answered)
        return True

    def _deferred(self, job: _Job, kind: str, exc: errors.SmsregError, answered: set[int]) -> None:
        self._stats.db_errors.labels(kind=kind).inc()
        logger.warning("MO not stored, answering temporary error: %s", exc, extra={"action": "mo_deferred"})
        self._answer(job, self._cfg.smpp.temp_error_status, answered)

    def _plan(self, job: _Job) -> _Plan:
        """What the transaction will store for this PDU, with everything not needing the DB done now."""
        mo = job.mo
        if mo.is_receipt:
            receipt = receipts.parse(mo)
            self._stats.mo_received.labels(kind="receipt").inc()
            self._stats.receipts.labels(state=receipt.state).inc()
            return receipt
        concat_info, data = self._user_data(mo)
        if concat_info is not None and concat_info.total > 1:
            self._stats.mo_received.labels(kind="concatenated_part").inc()
            return concat.Part(mo.source_addr, mo.dest_addr, concat_info.reference, concat_info.total,
                               concat_info.seq, mo.data_coding, data, job.received_at, mo.source_ton)
        prepared = self._registrar.prepare(register.Mo(mo.source_addr, mo.dest_addr, mo.data_coding, data,
                                                       job.received_at, mo.source_ton),
                                           credentials=self._stock.take)
        self._stats.mo_received.labels(kind="undecodable" if prepared.text is None else "registration").inc()
        return prepared

    @staticmethod
    def _user_data(mo: pdus.Incoming) -> tuple[codec.Concat | None, bytes]:
        if mo.sar is not None:
            return codec.Concat(*mo.sar), mo.user_data
        if mo.has_udh:
            return codec.split_udh(mo.user_data)
        return None, mo.user_data

    def _log(self, mo: pdus.Incoming, result: register.Result) -> None:
        """Every outcome is counted; a new account is worth an INFO line, the rest only DEBUG (the
        database keeps every MO, and a flood of wrong texts must not flood the journal)."""
        self._stats.registrations.labels(outcome=str(result.outcome)).inc()
        level = logging.INFO if result.outcome is Outcome.OK else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(level, "MO from %s: %s%s", msisdn.mask(mo.source_addr), result.outcome,
                       f" ({result.reason})" if result.reason else "", extra={"action": "mo_outcome"})

    def _answer(self, job: _Job, status: int, answered: set[int] | None = None) -> None:
        if answered is not None:
            answered.add(id(job))
        if self._ack(job.link, job.mo, status):
            self._stats.mo_ack_latency.observe(time.monotonic() - job.started)
