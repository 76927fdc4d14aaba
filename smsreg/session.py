"""The one SMPP transceiver link: connect, bind, read, keep alive, reconnect.

It owns the socket. Reading happens on the thread that calls run(); every write goes through
one lock. It knows nothing of registrations: what arrives is handed to a `Handler`, and the
handler answers later with ack() (after its commit) and sends replies with submit().
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import tenacity

from smsreg import config, db, errors, metrics, pdus

logger = logging.getLogger(__name__)

TICK_S = 0.2  # read-loop granularity: bounds shutdown and timer latency


class Handler(Protocol):
    def on_incoming(self, link: int, mo: pdus.Incoming) -> None: ...
    def on_submit_resp(self, link: int, sequence: int, status: int | None, message_id: str | None) -> None: ...
    def on_link_down(self, link: int) -> None: ...


class BindRefused(errors.SmscUnavailable):
    """The SMSC refused the bind."""


class LinkDead(Exception):
    """The link stopped working; the reason is the message."""


@dataclass
class _Link:
    number: int
    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)
    last_rx: float = field(default_factory=time.monotonic)
    last_tx: float = field(default_factory=time.monotonic)
    pending: dict[int, tuple[str, float]] = field(default_factory=dict)  # seq → (command, sent at)
    early: list[bytes] = field(default_factory=list)  # read with the bind_resp, not yet dispatched


class Session:
    def __init__(self, cfg: config.SmppConfig, handler: Handler, stats: metrics.Metrics,
                 stop: threading.Event) -> None:
        self._cfg = cfg
        self._handler = handler
        self._stats = stats
        self._stop = stop
        self._send_lock = threading.Lock()
        self._seq = pdus.Sequence()
        self._link: _Link | None = None
        self._links = 0
        self.draining = threading.Event()  # set at shutdown: new MOs get a temporary error
        self.bound = threading.Event()

    # ---- the reader thread -------------------------------------------------------------
    def run(self) -> None:
        """Keep a bound link until stop is set; reconnect with capped, jittered backoff."""
        while not self._stop.is_set():
            try:
                link = self._reconnecting()(self._open)
            except tenacity.RetryError:
                return
            if link is None:
                return
            reason = self._serve(link)
            self._close(link, reason)

    def _reconnecting(self) -> tenacity.Retrying:
        cfg = self._cfg
        # Not wait_exponential_jitter: its `initial=` warns (DeprecationWarning) from tenacity 9.2
        # on, and `multiplier=` does not exist in 9.0; this sum means the same on both.
        backoff = (tenacity.wait_exponential(multiplier=cfg.reconnect_min_s, max=cfg.reconnect_max_s)
                   + tenacity.wait_random(0, cfg.reconnect_min_s))

        def wait(state: tenacity.RetryCallState) -> float:
            failed = state.outcome.exception() if state.outcome else None
            # Bad credentials will not fix themselves quickly: retry at the cap.
            return cfg.reconnect_max_s if isinstance(failed, BindRefused) else float(backoff(state))

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Exception),
            wait=wait, stop=tenacity.stop_when_event_set(self._stop),
            sleep=db.interruptible_sleep(self._stop),
            before_sleep=self._log_retry, reraise=False)

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = "bind_failed" if isinstance(exc, BindRefused) else "connect_failed"
        if not isinstance(exc, (errors.SmscUnavailable, OSError)):
            logger.error("unexpected error while binding", exc_info=exc)
        self._stats.reconnects.labels(reason=reason).inc()
        logger.warning("SMSC %s:%s: %s; retrying in %.1f s", self._cfg.host, self._cfg.port, exc,
                       state.next_action.sleep if state.next_action else 0, extra={"action": "smpp_reconnect"})

    def _open(self) -> _Link | None:
        if self._stop.is_set():
            return None
        sock = socket.create_connection((self._cfg.host, self._cfg.port), timeout=self._cfg.response_timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # else ~40 ms per small PDU
        if self._cfg.tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self._cfg.host)
        self._links += 1
        link = _Link(self._links, sock)
        try:
            self._bind(link)
        except BaseException:
            sock.close()
            raise
        self._link = link
        self.bound.set()
        self._stats.bound.set(1)
        self._stats.binds.labels(result="ok").inc()
        logger.info("bound to %s:%s as %r (link %d)", self._cfg.host, self._cfg.port, self._cfg.system_id,
                    link.number, extra={"action": "smpp_bound"})
        return link

    def _bind(self, link: _Link) -> None:
        cfg = self._cfg
        seq = self._seq.next()
        link.sock.sendall(pdus.build(
            "bind_transceiver", seq, system_id=cfg.system_id, password=cfg.password.reveal(),
            system_type=cfg.system_type, interface_version=0x34, address_range=cfg.address_range))
        deadline = time.monotonic() + cfg.response_timeout_s
        while time.monotonic() < deadline and not self._stop.is_set():
            # An SMSC may send its backlog right behind the bind_resp, even in the same segment:
            # whatever is not the bind_resp is kept for _serve.
            link.early += self._read_some(link)
            for raw in link.early:
                _, command_id, status, sequence = pdus.header(raw)
                if sequence != seq or pdus.is_request(command_id):
                    continue
                link.early.remove(raw)
                if status != pdus.ESME_ROK:
                    self._stats.binds.labels(result="failed").inc()
                    raise BindRefused(f"bind refused: 0x{status:02x} {pdus.describe_status(status)}")
                return
        raise errors.SmscUnavailable("no bind_transceiver_resp in time")

    def _serve(self, link: _Link) -> str:
        """Read and dispatch until the link dies or stop is set; return why it ended."""
        try:
            early, link.early = link.early, []
            for raw in early:
                self._dispatch(link, raw)
            while not self._stop.is_set():
                for raw in self._read_some(link):
                    self._dispatch(link, raw)
                self._timers(link)
            return "stopped"
        except LinkDead as exc:
            return str(exc)
        except OSError as exc:
            return f"socket error: {exc}"
        except Exception:  # a bug in handling one PDU must not end the service: rebuild the link
            logger.exception("unexpected error on link %d", link.number)
            return "internal error"

    def _read_some(self, link: _Link) -> list[bytes]:
        """Whole PDUs available within one tick (partial data stays buffered)."""
        sock = link.sock
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
        if pending or select.select([sock], [], [], TICK_S)[0]:
            chunk = sock.recv(65536)
            if not chunk:
                raise LinkDead("closed by the SMSC")
            link.buf += chunk
            link.last_rx = time.monotonic()
        out = []
        while len(link.buf) >= 16:
            length = int.from_bytes(link.buf[:4], "big")
            if not 16 <= length <= pdus.MAX_PDU_BYTES:
                raise LinkDead(f"unsynchronised stream (command_length {length})")
            if len(link.buf) < length:
                break
            out.append(bytes(link.buf[:length]))
            del link.buf[:length]
        return out

    def _dispatch(self, link: _Link, raw: bytes) -> None:
        _, command_id, _, seq = pdus.header(raw)
        name = pdus.command_name(command_id)
        if name is None:
            logger.warning("unknown command id 0x%08x", command_id, extra={"action": "smpp_generic_nack"})
            if pdus.is_request(command_id):
                self._send(link, pdus.response("generic_nack", seq, pdus.ESME_RINVCMDID))
            return
        try:
            parsed = pdus.parse(raw)
        except ValueError:
            logger.warning("malformed %s PDU (seq %d)", name, seq, extra={"action": "smpp_malformed"})
            if pdus.is_request(command_id):
                self._send(link, pdus.response("generic_nack", seq, pdus.ESME_RINVCMDLEN))
            return
        if isinstance(parsed, pdus.Incoming):
            self._incoming(link, parsed)
        elif isinstance(parsed, pdus.Response):
            self._response(link, parsed)
        else:
            self._request(link, *parsed)

    def _incoming(self, link: _Link, mo: pdus.Incoming) -> None:
        if self.draining.is_set():
            self.ack(link.number, mo, self._cfg.temp_error_status)
            return
        self._handler.on_incoming(link.number, mo)

    def _response(self, link: _Link, resp: pdus.Response) -> None:
        sent = link.pending.pop(resp.sequence, None)
        if sent is None:
            return
        command, sent_at = sent
        if command == "enquire_link":
            self._stats.enquire_link_rtt.observe(time.monotonic() - sent_at)
        elif command == "submit_sm":
            self._handler.on_submit_resp(link.number, resp.sequence, resp.status, resp.message_id)

    def _request(self, link: _Link, name: str, seq: int) -> None:
        if name == "enquire_link":
            self._send(link, pdus.response("enquire_link", seq))
        elif name == "unbind":
            self._send(link, pdus.response("unbind", seq))
            raise LinkDead("unbind from the SMSC")
        elif name == "alert_notification":
            pass  # has no response in SMPP 3.4
        else:
            self._send(link, pdus.response("generic_nack", seq, pdus.ESME_RINVCMDID))

    def _timers(self, link: _Link) -> None:
        now = time.monotonic()
        for seq, (command, sent_at) in list(link.pending.items()):
            if now - sent_at > self._cfg.response_timeout_s:
                del link.pending[seq]
                if command == "enquire_link":
                    raise LinkDead("enquire_link not answered")
                self._handler.on_submit_resp(link.number, seq, None, None)
        if now - link.last_rx > self._cfg.inactivity_s:
            raise LinkDead(f"nothing received for {self._cfg.inactivity_s:.0f} s")
        if now - max(link.last_rx, link.last_tx) > self._cfg.enquire_link_s:
            self._request_pdu(link, "enquire_link")

    def _close(self, link: _Link, reason: str) -> None:
        self._link = None
        self.bound.clear()
        self._stats.bound.set(0)
        if reason != "stopped":
            kind = "unbind" if "unbind" in reason else "link_dead"
            self._stats.reconnects.labels(reason=kind).inc()
            logger.warning("link %d lost: %s", link.number, reason, extra={"action": "smpp_unbound"})
        else:
            self._unbind(link)
        link.sock.close()
        self._handler.on_link_down(link.number)

    def _unbind(self, link: _Link) -> None:
        """Polite goodbye at shutdown; the SMSC gets a second to answer."""
        try:
            seq = self._request_pdu(link, "unbind")
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                for raw in self._read_some(link):
                    _, command_id, _, sequence = pdus.header(raw)
                    if sequence == seq and not pdus.is_request(command_id):
                        self._log_unbound(link)
                        return
                    # Late responses still settle their replies; new MOs get the temporary status.
                    self._dispatch(link, raw)
        except (OSError, LinkDead):
            pass
        self._log_unbound(link)

    @staticmethod
    def _log_unbound(link: _Link) -> None:
        logger.info("unbound (link %d)", link.number, extra={"action": "smpp_unbound"})

    # ---- called from any thread ----------------------------------------------------------
    def _send(self, link: _Link, data: bytes) -> None:
        with self._send_lock:
            link.sock.sendall(data)
            link.last_tx = time.monotonic()

    def _request_pdu(self, link: _Link, name: str, **fields: object) -> int:
        seq = self._seq.next()
        data = pdus.build(name, seq, **fields)
        link.pending[seq] = (name, time.monotonic())
        self._send(link, data)
        return seq

    def ack(self, link_number: int, mo: pdus.Incoming, status: int) -> bool:
        """Answer an MO on the link it came in on; False if that link is gone (the SMSC redelivers)."""
        link = self._link
        if link is None or link.number != link_number:
            return False
        try:
            self._send(link, pdus.response(mo.command, mo.sequence, status))
        except OSError:
            return False
        self._stats.deliver_sm_resp.labels(status=metrics.status_label(status)).inc()
        return True

    def submit(self, **fields: object) -> tuple[int, int] | None:
        """Send one submit_sm; (link, sequence) to match its response, or None when not bound."""
        link = self._link
        if link is None:
            return None
        try:
            return link.number, self._request_pdu(link, "submit_sm", **fields)
        except OSError:
            return None
