"""The Simulator: a threaded SMPP 3.4 SMSC on a loopback port, with records and fault switches."""

from __future__ import annotations

import itertools
import logging
import random
import socket
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Self

from smsreg.smsc import pdus
from smsreg.smsc.delivery import Dispatcher
from smsreg.smsc.esme import EsmeLink
from smsreg.smsc.faults import Faults
from smsreg.smsc.flood import FloodResult, run_flood
from smsreg.smsc.handlers import Settings, SmscProtocol
from smsreg.smsc.mo import MoSpec, Via, build_pdus
from smsreg.smsc.recorder import Recorder, ReplyListener
from smsreg.smsc.records import Counters, Delivery, MoHandle, ReceiptSent, Reply, Submit

logger = logging.getLogger(__name__)

ACCEPT_POLL_S = 0.5
JOIN_TIMEOUT_S = 5.0
UNBIND_GRACE_S = 2.0  # after an SMSC unbind, how long the ESME has to answer before the drop


class Simulator:
    """An SMSC for tests and demos: accepts ESME binds, delivers MOs, records every submit_sm.

    Thread-safe: MOs, faults and assertions may be issued from any thread while it runs.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, system_id: str = "smsreg",
                 password: str = "secret", retry_delay_s: float = 1.0, max_retries: int = 5,
                 response_timeout_s: float = 5.0, receipts: bool = True, receipt_delay_s: float = 0.0,
                 smsc_system_id: str = "smsreg-sim") -> None:  # fmt: skip
        self._bind_address = (host, port)
        self.settings = Settings(system_id, password, smsc_system_id, receipts, receipt_delay_s)
        self.faults = Faults()
        self.recorder = Recorder()
        self._dispatcher = Dispatcher(
            pick_link=self._pick_receiver,
            silenced_for=self.faults.silenced_for,
            retry_delay_s=retry_delay_s,
            max_retries=max_retries,
            response_timeout_s=response_timeout_s,
        )
        self._protocol = SmscProtocol(
            settings=self.settings, recorder=self.recorder, dispatcher=self._dispatcher,
            faults=self.faults, on_bound=self._link_bound, on_closed=self._link_closed,
        )  # fmt: skip
        self._lock = threading.Condition()
        self._links: dict[int, EsmeLink] = {}
        self._receivers: list[EsmeLink] = []  # copy-on-write: read without the lock
        self._bound: set[EsmeLink] = set()    # links whose bind _link_bound has taken in
        self._rr = itertools.count()
        self._link_ids = itertools.count(1)
        self._mo_ids = itertools.count(1)
        self._references = itertools.count(random.randrange(1 << 16))
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen and start serving; returns self."""
        listener = socket.create_server(self._bind_address, reuse_port=False)
        listener.settimeout(ACCEPT_POLL_S)
        self._listener = listener
        self._dispatcher.start()
        self._accept_thread = threading.Thread(target=self._accept_loop, name="smsc-accept", daemon=True)
        self._accept_thread.start()
        logger.info("SMSC simulator listening on %s:%d", *self.address)
        return self

    def stop(self) -> None:
        """Close every link and the listener; unfinished MOs end with final_status None."""
        if self._stopping.is_set() or self._listener is None:
            return
        self._stopping.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
        except OSError:
            pass
        if self._accept_thread is not None:
            self._accept_thread.join(JOIN_TIMEOUT_S)
        self._listener.close()
        links = self._all_links()
        for link in links:
            link.abort()
        for link in links:
            link.join(JOIN_TIMEOUT_S)
        self._dispatcher.stop()
        self._report()

    def _report(self) -> None:
        counters = self.counters
        logger.info("SMSC simulator stopped: %d MOs acked, %d failed, %d replies, %d throttled",
                    counters.mo_acked, counters.mo_failed, counters.replies, counters.throttled)  # fmt: skip
        if counters.duplicates:
            logger.warning("%d duplicate replies (same destination and text) during the run", counters.duplicates)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually listened on."""
        if self._listener is None:
            raise RuntimeError("the simulator is not started")
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stopping.is_set():
                    logger.warning("accept failed: %s", exc)
                    self._stopping.wait(0.1)
                continue
            sock.settimeout(None)
            link = EsmeLink(sock, next(self._link_ids), self._protocol)
            with self._lock:
                self._links[link.link_id] = link
            logger.info("link %d: connection from %s", link.link_id, link.peer)
            link.start()

    # -- links -----------------------------------------------------------------------------

    def _all_links(self) -> list[EsmeLink]:
        with self._lock:
            return list(self._links.values())

    def _pick_receiver(self) -> EsmeLink | None:
        """Round-robin over links bound as receiver or transceiver."""
        receivers = self._receivers
        if len(receivers) == 1:  # the usual case, without the list: same turns taken as below
            link = receivers[0]
            if not link.can_receive:
                return None
            next(self._rr)
            return link
        receivers = [link for link in receivers if link.can_receive]
        if not receivers:
            return None
        return receivers[next(self._rr) % len(receivers)]

    def _link_bound(self, link: EsmeLink) -> None:
        with self._lock:
            self._bound.add(link)
            if link.can_receive:
                self._receivers = [*self._receivers, link]
            self._lock.notify_all()
        self._dispatcher.wake()

    def _link_closed(self, link: EsmeLink) -> None:
        with self._lock:
            self._links.pop(link.link_id, None)
            self._bound.discard(link)
            self._receivers = [r for r in self._receivers if r is not link]
            self._lock.notify_all()

    @property
    def bound_count(self) -> int:
        """Links currently bound (any mode) and open. Counted once _link_bound has taken the
        link in, not when its mode is set: a caller that waited for n links then finds all n
        among the receivers."""
        with self._lock:
            return sum(1 for link in self._bound if link.mode is not None and not link.closed)

    def wait_bound(self, n: int = 1, timeout: float = 5.0) -> bool:
        """Wait until at least n links are bound; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self.bound_count >= n, timeout)

    # -- MOs -------------------------------------------------------------------------------

    def send_mo(self, text: str | None = None, *, source: str = "84905123456", dest: str = "8188",
                data_coding: int = 0, payload: bytes | None = None, esm_class: int = 0,
                source_ton: int = 1, source_npi: int = 1, as_data_sm: bool = False,
                via: Via = "short_message", parts: int | None = None,
                send_parts: Iterable[int] | None = None, reference: int | None = None,
                ref16: bool = False) -> MoHandle:  # fmt: skip
        """Deliver one citizen SMS (see MoSpec); it is queued until an ESME is bound.

        Raises ValueError if the text cannot be encoded in data_coding or the spec is impossible.
        """
        spec = MoSpec(
            text=text, source=source, dest=dest, data_coding=data_coding, payload=payload,
            esm_class=esm_class, source_ton=source_ton, source_npi=source_npi, as_data_sm=as_data_sm,
            via=via, parts=parts, send_parts=tuple(send_parts) if send_parts is not None else None,
            reference=reference, ref16=ref16,
        )  # fmt: skip
        return self.send_spec(spec)

    def send_spec(self, spec: MoSpec, on_done: Callable[[MoHandle], None] | None = None) -> MoHandle:
        """send_mo for a prepared MoSpec; on_done(handle) runs once every part is finished."""
        reference = spec.reference
        if reference is None:
            reference = next(self._references) & (0xFFFF if spec.ref16 or spec.via == "sar" else 0xFF)
        deliveries = [Delivery(command_id, body) for command_id, body in build_pdus(spec, reference)]
        handle = MoHandle(next(self._mo_ids), spec.source, spec.dest, spec.text, deliveries)
        if on_done is not None:
            handle.add_done_callback(on_done)
        self.recorder.add_mo(handle)
        for delivery in deliveries:
            self._dispatcher.dispatch(delivery)
        return handle

    def flood(self, messages: Iterable[MoSpec], window: int, *, reply_timeout_s: float = 10.0,
              ack_timeout_s: float = 30.0) -> FloodResult:  # fmt: skip
        """Send messages with at most window unfinished MOs; measure ack and reply latencies.

        Replies are matched by destination == MO source: give each MoSpec a unique source.
        Raises TimeoutError when no MO finishes within ack_timeout_s.
        """
        return run_flood(self.send_spec, self.recorder, messages, window,
                         reply_timeout_s=reply_timeout_s, ack_timeout_s=ack_timeout_s)  # fmt: skip

    # -- records ---------------------------------------------------------------------------

    @property
    def replies(self) -> list[Reply]:
        """Every completed reply (concatenated ones once all segments are in)."""
        return self.recorder.replies

    @property
    def submits(self) -> list[Submit]:
        """Every accepted submit_sm / data_sm PDU."""
        return self.recorder.submits

    @property
    def duplicates(self) -> list[Reply]:
        """Replies repeating an earlier reply's destination and text."""
        return self.recorder.duplicates

    @property
    def mo_log(self) -> list[MoHandle]:
        """Every MO sent, with every attempt and its final status."""
        return self.recorder.mo_log

    @property
    def receipts_sent(self) -> list[ReceiptSent]:
        """Every delivery receipt queued, with its delivery attempts."""
        return self.recorder.receipts

    @property
    def counters(self) -> Counters:
        """A snapshot of the event counters."""
        counters = self.recorder.snapshot()
        for name, value in self._dispatcher.stats_snapshot().items():
            setattr(counters, name, value)
        return counters

    def wait_replies(self, n: int, timeout: float = 5.0) -> list[Reply]:
        """Wait for at least n replies; return all replies so far (fewer on timeout)."""
        return self.recorder.wait_replies(n, timeout)

    def on_reply(self, listener: ReplyListener) -> None:
        """Call listener(reply) for each completed reply (on a link's reader thread: be quick)."""
        self.recorder.add_listener(listener)

    def remove_reply_listener(self, listener: ReplyListener) -> None:
        """Undo on_reply."""
        self.recorder.remove_listener(listener)

    # -- behaviour and faults --------------------------------------------------------------

    @property
    def bind_credentials(self) -> tuple[str, str]:
        """(system_id, password) a bind must present; settable while running."""
        return self.settings.system_id, self.settings.password

    @bind_credentials.setter
    def bind_credentials(self, value: tuple[str, str]) -> None:
        self.settings.system_id, self.settings.password = value

    def set_receipt_state(self, destination: str, state: int) -> None:
        """message_state of future receipts for destination (2 DELIVERED, 5 UNDELIVERABLE, ...)."""
        self.settings.receipt_states[destination] = state

    def throttle(self, every: int = 3, status: int = pdus.ESME_RTHROTTLED) -> None:
        """Answer every Nth submit_sm with status (not recorded as a reply); every=0 stops it."""
        self.faults.throttle(every, status)

    def silence(self, seconds: float) -> None:
        """Read but answer nothing and deliver nothing for that long (0 ends it)."""
        self.faults.silence(seconds)
        self._dispatcher.wake()

    def lose_submit_resp(self, n: int = 1) -> None:
        """Accept the next n submit_sm (recorded) but drop the link instead of answering."""
        self.faults.lose_submit_resp(n)

    def drop_links(self) -> int:
        """Close every ESME connection abruptly (no unbind); return how many."""
        links = self._all_links()
        for link in links:
            link.abort()
        logger.info("dropped %d links", len(links))
        return len(links)

    def send_unbind(self) -> int:
        """SMSC-initiated unbind on every bound link; links are dropped if not answered in time."""
        links = [link for link in self._all_links() if link.mode is not None and not link.closed]
        for link in links:
            link.unbind(pdus.pack(pdus.UNBIND, self._dispatcher.next_sequence()))
            timer = threading.Timer(UNBIND_GRACE_S, link.abort)
            timer.daemon = True
            timer.start()
        return len(links)

    def send_raw(self, data: bytes) -> int:
        """Write raw bytes (e.g. a malformed PDU) to every open link; return how many."""
        links = [link for link in self._all_links() if not link.closed]
        return sum(1 for link in links if link.send(data))
