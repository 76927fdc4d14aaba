"""The worker pool: each deliver_sm/data_sm is stored and decided in one transaction, and
acknowledged only after that commit (0), or with the temporary status when the database
cannot be reached in time (the SMSC then delivers it again).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg_pool

from smsreg import codec, concat, config, db, errors, metrics, msisdn, outbox, pdus, receipts, register

logger = logging.getLogger(__name__)

Ack = Callable[[int, pdus.Incoming, int], bool]


@dataclass(frozen=True, slots=True)
class _Job:
    link: int
    mo: pdus.Incoming
    received_at: dt.datetime
    started: float  # monotonic, for the ack latency


_STOP = object()


class Intake:
    def __init__(self, cfg: config.Config, pool: psycopg_pool.ConnectionPool, registrar: register.Registrar,
                 ack: Ack, stats: metrics.Metrics) -> None:
        self._cfg = cfg
        self._pool = pool
        self._registrar = registrar
        self._reassembler = concat.Reassembler(registrar)
        self._ack = ack
        self._stats = stats
        self._queue: queue.Queue[_Job | object] = queue.Queue(maxsize=cfg.smpp.queue_size)
        self._abort = threading.Event()  # cuts DB retries short at a hard stop
        self._threads = [threading.Thread(target=self._work, name=f"smsreg-worker-{i}", daemon=True)
                         for i in range(cfg.smpp.workers)]

    def start(self) -> None:
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

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            assert isinstance(job, _Job)
            self._stats.workers_busy.inc()
            try:
                self._handle(job)
            except Exception:  # a bug must not kill the pool; the MO is answered 'temporary'
                logger.exception("unexpected error handling an MO", extra={"action": "mo_error"})
                self._answer(job, self._cfg.smpp.temp_error_status)
            finally:
                self._stats.workers_busy.dec()

    def _handle(self, job: _Job) -> None:
        if self._stale(job):
            return
        work = self._plan(job)  # CPU work (decode, parse, hash) happens once, outside the retries
        try:
            for attempt in db.retrying(self._abort, self._cfg.database.retry_budget_s):
                with attempt, db.wrap_errors(), self._pool.connection() as conn:
                    started = time.perf_counter()
                    result = work(conn)
                    self._stats.register_duration.observe(time.perf_counter() - started)
        except errors.DatabaseUnavailable as exc:
            self._deferred(job, "unavailable", exc)
            return
        except errors.DatabaseError as exc:
            self._deferred(job, "error", exc)
            return
        if result is not None:
            self._log(job.mo, result)
        self._answer(job, pdus.ESME_ROK)

    def _stale(self, job: _Job) -> bool:
        """True (and answered with the temporary status, unprocessed) for an MO that waited in
        the queue longer than smpp.response_timeout_s. The SMSC's own response timer has run
        out by then: it delivers the MO again, so working on this copy would only make every MO
        behind it late as well. Without this a backlog flushed at bind never drains: each ack
        arrives after the SMSC gave up, and every redelivery costs a password hash again."""
        if time.monotonic() - job.started <= self._cfg.smpp.response_timeout_s:
            return False
        logger.debug("MO waited %.1f s in the queue: answered temporary error unprocessed",
                     time.monotonic() - job.started, extra={"action": "mo_stale"})
        self._answer(job, self._cfg.smpp.temp_error_status)
        return True

    def _deferred(self, job: _Job, kind: str, exc: errors.SmsregError) -> None:
        self._stats.db_errors.labels(kind=kind).inc()
        logger.warning("MO not stored, answering temporary error: %s", exc, extra={"action": "mo_deferred"})
        self._answer(job, self._cfg.smpp.temp_error_status)

    def _plan(self, job: _Job) -> Callable[[concat.Conn], register.Result | None]:
        """What the transaction will do for this PDU, with everything not needing the DB done now."""
        mo = job.mo
        if mo.is_receipt:
            receipt = receipts.parse(mo)
            self._stats.mo_received.labels(kind="receipt").inc()
            self._stats.receipts.labels(state=receipt.state).inc()
            return lambda conn: (outbox.record_receipt(conn, receipt), None)[1]
        concat_info, data = self._user_data(mo)
        if concat_info is not None and concat_info.total > 1:
            self._stats.mo_received.labels(kind="concatenated_part").inc()
            part = concat.Part(mo.source_addr, mo.dest_addr, concat_info.reference, concat_info.total,
                               concat_info.seq, mo.data_coding, data, job.received_at, mo.source_ton)
            return lambda conn: self._reassembler.add(conn, part)
        started = time.perf_counter()
        prepared = self._registrar.prepare(register.Mo(mo.source_addr, mo.dest_addr, mo.data_coding, data,
                                                       job.received_at, mo.source_ton))
        if prepared.password_hash is not None:
            self._stats.hash_duration.observe(time.perf_counter() - started)
        self._stats.mo_received.labels(kind="undecodable" if prepared.text is None else "registration").inc()
        return lambda conn: self._registrar.commit(conn, prepared)

    @staticmethod
    def _user_data(mo: pdus.Incoming) -> tuple[codec.Concat | None, bytes]:
        if mo.sar is not None:
            return codec.Concat(*mo.sar), mo.user_data
        if mo.has_udh:
            return codec.split_udh(mo.user_data)
        return None, mo.user_data

    def _log(self, mo: pdus.Incoming, result: register.Result) -> None:
        self._stats.registrations.labels(outcome=str(result.outcome)).inc()
        logger.info("MO from %s: %s%s", msisdn.mask(mo.source_addr), result.outcome,
                    f" ({result.reason})" if result.reason else "", extra={"action": "mo_outcome"})

    def _answer(self, job: _Job, status: int) -> None:
        if self._ack(job.link, job.mo, status):
            self._stats.mo_ack_latency.observe(time.monotonic() - job.started)
