"""The sender: claims queued replies, sends them as submit_sm within the window and the TPS
limit, and settles each row from its submit_sm_resp. Woken by this worker's intake after each
commit and by NOTIFY from other writers; polls as a fallback.

All database work happens on this one thread; the session's reader only posts events here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

import psycopg
import psycopg_pool

from smsreg import codec, config, db, errors, metrics, outbox, pdus

logger = logging.getLogger(__name__)

POLL_S = 1.0          # claim even without a NOTIFY this often
ONE_PART_CACHE = 64   # distinct one-part reply texts kept encoded (error replies repeat)
THROTTLE_PAUSE_S = 1.0
CHANNEL = "smsreg_outbound"


@dataclass
class _Row:
    claimed: outbox.Claimed
    parts: int
    message_ids: dict[int, str] = field(default_factory=dict)
    retry: str | None = None    # reason to send the whole row again
    throttled: bool = False     # throttling is the SMSC's pace, not a failure: never gives up
    failure: str | None = None
    outstanding: int = 0        # parts sent and not yet answered


@dataclass(frozen=True, slots=True)
class _Resp:
    link: int
    sequence: int
    status: int | None      # None: no response in time
    message_id: str | None


@dataclass(frozen=True, slots=True)
class _LinkDown:
    link: int


class Sender:
    def __init__(self, cfg: config.Config, pool: psycopg_pool.ConnectionPool, session: object,
                 stats: metrics.Metrics, worker_id: str) -> None:
        from smsreg.session import Session  # typing only; avoids a cycle at import time
        assert isinstance(session, Session)
        self._session = session
        self._cfg = cfg
        self._pool = pool
        self._stats = stats
        self._worker = worker_id
        self._events: queue.Queue[_Resp | _LinkDown | None] = queue.Queue()
        self._inflight: dict[tuple[int, int], tuple[int, int]] = {}  # (link, seq) → (row id, part no)
        self._rows: dict[int, _Row] = {}
        self._done: list[_Row] = []  # every part answered; settled in the database together
        self._stop_claiming = threading.Event()
        self._claims_over = threading.Event()  # set by the sender thread: it will claim nothing more
        self._stopped = threading.Event()
        self._tokens = float(cfg.smpp.window)
        self._last_refill = time.monotonic()
        self._paused_until = 0.0
        self._one_part: dict[str, list[codec.Part]] = {}  # the fixed replies, encoded once
        self.thread = threading.Thread(target=self._run, name="smsreg-sender", daemon=True)
        self.listener = threading.Thread(target=self._listen, name="smsreg-listen", daemon=True)

    # ---- events from other threads ------------------------------------------------------
    def on_submit_resp(self, link: int, sequence: int, status: int | None, message_id: str | None) -> None:
        self._events.put(_Resp(link, sequence, status, message_id))

    def on_link_down(self, link: int) -> None:
        self._events.put(_LinkDown(link))

    def wake(self) -> None:
        """Claim now: this process's intake has just committed replies (others NOTIFY)."""
        self._events.put(None)

    def start(self) -> None:
        self.thread.start()
        self.listener.start()

    def close(self, timeout: float) -> None:
        """Stop claiming, wait (bounded) for the responses still due, release the rest."""
        self._stop_claiming.set()
        self._events.put(None)
        deadline = time.monotonic() + timeout
        # A claim may be under way on the sender thread, its rows not yet in _rows: releasing
        # them at the stop below would send each again after its submit_sm was accepted.
        while not self._claims_over.wait(0.05) and time.monotonic() < deadline and self.thread.is_alive():
            pass
        while self._rows and time.monotonic() < deadline and self.thread.is_alive():
            time.sleep(0.05)
        self._stopped.set()
        self._events.put(None)
        self.thread.join(max(0.1, deadline - time.monotonic()))

    # ---- the sender thread -----------------------------------------------------------------
    def _run(self) -> None:
        next_poll, more = 0.0, False
        while not self._stopped.is_set():
            if self._stop_claiming.is_set():
                self._claims_over.set()
            try:
                # Short waits while a backlog is being drained, longer ones when idle.
                woken = self._settle_events(0.02 if more else 0.25)
                now = time.monotonic()
                if self._want_claim() and (woken or more or now >= next_poll):
                    more = self._claim_and_send()  # settles what is done in the same transaction
                    next_poll = now + POLL_S
                self._settle()
            except errors.SmsregError as exc:
                kind = "unavailable" if isinstance(exc, errors.DatabaseUnavailable) else "error"
                self._stats.db_errors.labels(kind=kind).inc()
                logger.warning("sender: %s", exc, extra={"action": "sender_db_error"})
                self._stopped.wait(0.5)
        self._release_all("shutdown")

    def _want_claim(self) -> bool:
        # Half the window free before claiming again: a few large claims, not one per response.
        window = self._cfg.smpp.window
        return (not self._stop_claiming.is_set() and self._session.bound.is_set()
                and time.monotonic() >= self._paused_until
                and window - len(self._inflight) >= (window + 1) // 2)

    def _settle_events(self, wait_s: float) -> bool:
        """Apply every pending event; True if a wake-up (intake, NOTIFY, close) asked for a claim."""
        woken = False
        try:
            event = self._events.get(timeout=wait_s)
            while True:
                if isinstance(event, _Resp):
                    self._on_resp(event)
                elif isinstance(event, _LinkDown):
                    self._on_link_down(event.link)
                else:
                    woken = True
                event = self._events.get_nowait()
        except queue.Empty:
            return woken

    def _claim_and_send(self) -> bool:
        """Settle the rows done and claim what the window and the rate allow, in one transaction
        (one commit instead of two); True when there may be more to claim."""
        room = min(self._cfg.smpp.window - len(self._inflight), int(self._refill()))
        if room <= 0:
            return True
        done, self._done = self._done, []
        try:
            with db.wrap_errors(), self._pool.connection() as conn, conn.transaction():
                # Settled first: a row whose lease ran out while its settlement waited (a database
                # outage) is then no longer 'sending', so this claim cannot take it and send it again.
                self._record_settled(conn, done)
                claimed = outbox.claim_within(conn, room, self._worker,
                                              lease_s=3 * self._cfg.smpp.response_timeout_s)
        except BaseException:
            self._done = done + self._done  # settled next turn, not sent again
            raise
        self._settled(done)
        for row in claimed:
            self._send_row(row)
        return len(claimed) == room

    def _refill(self) -> float:
        now = time.monotonic()
        tps = self._cfg.smpp.max_tps
        self._tokens = min(max(1.0, float(self._cfg.smpp.window)), self._tokens + (now - self._last_refill) * tps)
        self._last_refill = now
        return self._tokens

    def _split(self, row: outbox.Claimed) -> list[codec.Part]:
        """The submit_sm parts of a reply; a one-part text (no UDH, no reference) is encoded once.
        The concatenation reference comes from the row id, so a retry of some segments carries
        the same reference as the ones the handset already has."""
        parts = self._one_part.get(row.body)
        if parts is None:
            parts = codec.split_mt(row.body, reference=row.id & 0xFF)
            if len(parts) == 1 and len(self._one_part) < ONE_PART_CACHE:
                self._one_part[row.body] = parts
        return parts

    def _send_row(self, row: outbox.Claimed) -> None:
        parts = self._split(row)
        state = _Row(row, len(parts))
        self._rows[row.id] = state
        smpp = self._cfg.smpp
        for number, part in enumerate(parts):
            if number < len(row.accepted_ids) and row.accepted_ids[number]:
                state.message_ids[number] = row.accepted_ids[number]  # the handset has this one
                continue
            sent = self._session.submit(
                source_addr=smpp.source_addr, source_addr_ton=smpp.source_addr_ton,
                source_addr_npi=smpp.source_addr_npi, destination_addr=row.destination,
                dest_addr_ton=smpp.dest_addr_ton, dest_addr_npi=smpp.dest_addr_npi,
                esm_class=part.esm_class, data_coding=part.data_coding, short_message=part.short_message,
                registered_delivery=1 if smpp.registered_delivery else 0)
            self._tokens -= 1
            if sent is None:
                state.retry = "not bound"
                break
            self._inflight[sent] = (row.id, number)
            state.outstanding += 1
        if not state.outstanding:
            self._finish(row.id)

    def _on_resp(self, resp: _Resp) -> None:
        entry = self._inflight.pop((resp.link, resp.sequence), None)
        if entry is None:
            return
        row_id, number = entry
        state = self._rows[row_id]
        state.outstanding -= 1
        if resp.status == pdus.ESME_ROK:
            state.message_ids[number] = (resp.message_id or "").strip().lower()
            self._stats.submit_sm.labels(result="accepted").inc()
            self._stats.segments_sent.inc()
        elif resp.status is None:
            state.retry = state.retry or "no submit_sm_resp in time"
            self._stats.submit_sm.labels(result="timeout").inc()
        elif resp.status in (pdus.ESME_RTHROTTLED, pdus.ESME_RMSGQFUL):
            state.retry = state.retry or f"throttled (0x{resp.status:02x})"
            state.throttled = True
            self._paused_until = time.monotonic() + THROTTLE_PAUSE_S
            self._stats.submit_sm.labels(result="throttled").inc()
        else:
            state.failure = f"submit_sm_resp 0x{resp.status:08x} {pdus.describe_status(resp.status)}"
            self._stats.submit_sm.labels(result="failed").inc()
        if not state.outstanding:
            self._finish(row_id)

    def _on_link_down(self, link: int) -> None:
        for key in [k for k in self._inflight if k[0] == link]:
            row_id, _ = self._inflight.pop(key)
            self._rows[row_id].retry = "link lost before submit_sm_resp"
            self._rows[row_id].outstanding -= 1
        for row_id in [r for r, state in self._rows.items() if not state.outstanding]:
            self._finish(row_id)

    def _finish(self, row_id: int) -> None:
        """Every part of the row has an answer: it is settled with the others at the next _settle()."""
        self._done.append(self._rows.pop(row_id))

    def _settle(self) -> None:
        """Settle every finished row in one transaction: accepted rows in one statement (their
        plaintext erased), the rest one by one. On a database error the rows stay to be settled
        on the next turn (not sent again)."""
        done = self._done
        if not done:
            return
        with db.wrap_errors(), self._pool.connection() as conn, conn.transaction():
            self._record_settled(conn, done)
        self._done = []
        self._settled(done)

    def _record_settled(self, conn: psycopg.Connection[tuple[object, ...]], done: list[_Row]) -> None:
        """The statements of _settle() in the caller's transaction."""
        accepted = [s for s in done if not s.failure and not s.retry]
        if accepted:
            outbox.mark_submitted_many(conn, [(s.claimed.id, [s.message_ids[i] for i in range(s.parts)])
                                              for s in accepted])
        for state in done:
            if state.failure:
                outbox.fail(conn, state.claimed.id, state.failure)
            elif state.retry:
                self._retry(conn, state)

    def _settled(self, done: list[_Row]) -> None:
        """Count and log rows whose settlement has been committed."""
        now = time.time()
        for state in done:
            if state.failure:
                logger.warning("reply %d failed: %s", state.claimed.id, state.failure, extra={"action": "reply_failed"})
            elif not state.retry:
                received = state.claimed.mo_received_at
                if received is not None:
                    self._stats.mo_reply_latency.observe(max(0.0, now - received.timestamp()))
                logger.debug("reply %d sent (%d segment%s)", state.claimed.id, state.parts,
                             "" if state.parts == 1 else "s", extra={"action": "reply_sent"})

    def _retry(self, conn: psycopg.Connection[tuple[object, ...]], state: _Row) -> None:
        attempts = state.claimed.attempts
        if attempts >= self._cfg.smpp.submit_max_attempts and not state.throttled:
            outbox.fail(conn, state.claimed.id, f"gave up after {attempts} attempts: {state.retry}")
            self._stats.submit_sm.labels(result="failed").inc()
            return
        delay_s = min(60.0, 0.5 * 2 ** (attempts - 1))
        if state.parts > 1 and state.message_ids:
            accepted = [state.message_ids.get(i, "") for i in range(state.parts)]
            outbox.release_partly_sent(conn, state.claimed.id, delay_s, state.retry or "", accepted)
        else:
            outbox.release(conn, [state.claimed.id], delay_s, state.retry or "")
        self._stats.submit_sm.labels(result="retried").inc()

    def _release_all(self, reason: str) -> None:
        try:
            self._settle()
        except errors.SmsregError as exc:
            logger.warning("could not settle %d answered replies (%s); their lease will expire", len(self._done), exc)
        ids = list(self._rows)
        self._rows.clear()
        self._inflight.clear()
        if ids:
            try:
                with db.wrap_errors(), self._pool.connection() as conn:
                    outbox.release(conn, ids, 0, reason)
            except errors.SmsregError as exc:
                logger.warning("could not release %d claimed replies (%s); their lease will expire", len(ids), exc)

    # ---- the LISTEN thread ---------------------------------------------------------------------
    def _listen(self) -> None:
        """Turn NOTIFYs into wake-ups; reconnects quietly (the poll covers the gaps)."""
        while not self._stopped.is_set():
            try:
                with db.connect(self._cfg.database, "listen", autocommit=True) as conn:
                    conn.execute("LISTEN smsreg_outbound")
                    while not self._stopped.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._events.put(None)
            except (errors.SmsregError, psycopg.Error) as exc:
                logger.debug("LISTEN connection: %s", exc)
                self._stopped.wait(1.0)
