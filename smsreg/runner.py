"""`smsreg run`: build the worker's parts, wire them, supervise them, shut them down in order.

Shutdown order (first SIGTERM/SIGINT): new MOs get the temporary status → the pool finishes,
commits and acknowledges what it holds → the sender stops claiming and waits (bounded) for
outstanding submit_sm_resp → unbind → close the database pool and the HTTP server.
A second signal exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from smsreg import (
    backlog,
    concat,
    config,
    db,
    errors,
    health,
    inbound,
    metrics,
    outbox,
    pdus,
    register,
    sender,
    session,
)

logger = logging.getLogger(__name__)

MAINTENANCE_S = 5.0
PURGE_EVERY_S = 600.0


class _Router:
    """The session's handler: MOs to the worker pool, responses and link loss to the sender."""

    def __init__(self) -> None:
        self.intake: inbound.Intake | None = None
        self.sender: sender.Sender | None = None

    def on_incoming(self, link: int, mo: pdus.Incoming) -> None:
        assert self.intake is not None
        self.intake.offer(link, mo)

    def on_submit_resp(self, link: int, sequence: int, status: int | None, message_id: str | None) -> None:
        assert self.sender is not None
        self.sender.on_submit_resp(link, sequence, status, message_id)

    def on_link_down(self, link: int) -> None:
        assert self.sender is not None
        self.sender.on_link_down(link)


class Worker:
    def __init__(self, cfg: config.Config) -> None:
        if not cfg.smpp.host:
            raise errors.ConfigError("smpp.host: no SMSC configured (set SMSREG_SMPP_HOST, or use `make run` "
                                     "for the simulator)")
        self.cfg = cfg
        self.stats = metrics.Metrics(temp_error_status=cfg.smpp.temp_error_status)
        self.pool = db.make_pool(cfg.database, "worker", max_size=max(cfg.database.pool_max, cfg.smpp.workers + 3))
        self.stats.registry.register(backlog.BacklogCollector(self.pool))
        self.registrar = register.Registrar(cfg)
        self.reassembler = concat.Reassembler(self.registrar)
        self.session_stop = threading.Event()
        router = _Router()
        self.session = session.Session(cfg.smpp, router, self.stats, self.session_stop)
        self.sender = router.sender = sender.Sender(cfg, self.pool, self.session, self.stats,
                                                    f"{socket.gethostname()}:{os.getpid()}")
        self.intake = router.intake = inbound.Intake(cfg, self.pool, self.registrar, self.session.ack, self.stats,
                                                     self.sender.wake)
        self.reader = threading.Thread(target=self.session.run, name="smsreg-smpp", daemon=True)
        self.http: health.HttpServerHandle | None = None

    def start(self) -> None:
        if self.cfg.metrics.enabled:
            self.http = health.serve(self.cfg.metrics.listen, self.stats.registry, self.health)
        self.intake.start()
        self.sender.start()
        self.reader.start()

    def health(self) -> dict[str, bool]:
        return {"smpp_bound": self.session.bound.is_set(), "database": self._database_ok()}

    def _database_ok(self) -> bool:
        try:
            with self.pool.connection(timeout=0.5) as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable" to a health probe
            return False

    def supervise(self, stop: threading.Event) -> int:
        """Run maintenance until stop is set; 1 if a vital thread died."""
        last_purge = time.monotonic()
        while not stop.wait(MAINTENANCE_S):
            dead = [t.name for t in (self.reader, self.sender.thread) if not t.is_alive()]
            if dead or not self.intake.alive():
                logger.error("thread(s) died: %s; stopping", ", ".join(dead) or "worker pool",
                             extra={"action": "worker_crashed"})
                return 1
            purge = time.monotonic() - last_purge > PURGE_EVERY_S
            self._maintain(purge)
            last_purge = time.monotonic() if purge else last_purge
        return 0

    def _maintain(self, purge: bool) -> None:
        """Answer concatenated MOs whose parts never all arrived; forget old completed groups."""
        smpp, reg = self.cfg.smpp, self.cfg.registration
        try:
            with db.wrap_errors(), self.pool.connection() as conn:
                for result in self.reassembler.expire(conn, smpp.concat_timeout_s):
                    self.stats.registrations.labels(outcome=str(result.outcome)).inc()
                    logger.info("incomplete concatenated MO answered: %s", result.outcome,
                                extra={"action": "mo_outcome"})
                if purge:
                    self.reassembler.purge(conn, reg.redelivery_window_s + smpp.concat_timeout_s)
                    outbox.purge_early_receipts(conn)
        except errors.SmsregError as exc:
            logger.warning("maintenance skipped: %s", exc)

    def shutdown(self) -> None:
        grace = self.cfg.smpp.shutdown_grace_s
        logger.info("stopping: finishing work in flight (grace %.0f s)", grace, extra={"action": "worker_stopping"})
        self.session.draining.set()
        self.intake.close(grace / 2)
        self.sender.close(grace / 2)
        self.session_stop.set()
        self.reader.join(3.0)
        self.pool.close(timeout=2.0)
        if self.http is not None:
            self.http.close()
        logger.info("stopped", extra={"action": "worker_stopped"})


@contextmanager
def signals_set(stop: threading.Event) -> Iterator[None]:
    """First SIGTERM/SIGINT sets stop; a second one exits at once (threads may be blocked in I/O)."""
    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            logger.error("second signal: exiting now")
            os._exit(1)
        logger.info("signal %s received", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(cfg: config.Config, stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    worker = Worker(cfg)
    with signals_set(stop):
        worker.start()
        logger.info("worker started: SMSC %s:%s, %d workers, metrics %s", cfg.smpp.host, cfg.smpp.port,
                    cfg.smpp.workers, cfg.metrics.listen if cfg.metrics.enabled else "off",
                    extra={"action": "worker_started"})
        try:
            code = worker.supervise(stop)
        finally:
            worker.shutdown()
    return code
