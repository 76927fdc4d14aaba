"""One ESME connection on the SMSC side: a reader thread, framing, and a locked writer.

Writes can be batched per thread (batched_writes): under flood a reader thread answers a
whole recv() worth of PDUs and the flood thread sends several MOs at once; one sendall
for all of them costs a fraction of one sendall (and one GIL round trip) per PDU.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from typing import Protocol

from smsreg.smsc import pdus

logger = logging.getLogger(__name__)

RECEIVER = "receiver"
TRANSMITTER = "transmitter"
TRANSCEIVER = "transceiver"
_RECV_BYTES = 65536
# A peer that stops reading must not wedge the thread writing to it forever.
SEND_TIMEOUT_S = 10


class _Batch(threading.local):
    """Per thread: None, or the PDUs queued per link inside batched_writes()."""

    queued: dict[EsmeLink, list[bytes]] | None = None


_batch = _Batch()


class batched_writes:  # lower case: used like a function, `with batched_writes():`
    """Queue this thread's EsmeLink.send() data and write it per link, in order, on exit.

    Only the writes of the calling thread are held back, and only until the block ends;
    the order of one thread's PDUs on a link is kept. A link flushes the calling thread's
    queue itself before anything that must follow its writes (closing, unbinding, a bind
    becoming usable: see EsmeLink.flush). Nested blocks join the outer one. A class rather
    than a contextlib generator: it is entered once per recv() chunk.
    """

    __slots__ = ("_outer",)

    def __enter__(self) -> None:
        self._outer = _batch.queued is None
        if self._outer:
            _batch.queued = {}

    def __exit__(self, *_exc: object) -> None:
        if not self._outer:
            return
        queued, _batch.queued = _batch.queued, None
        _write_all(queued)


def flush_batch() -> None:
    """Write what this thread has queued so far and stay in its batched_writes block."""
    queued = _batch.queued
    if queued:
        _batch.queued = {}
        _write_all(queued)


def _write_all(queued: dict[EsmeLink, list[bytes]] | None) -> None:
    for link, chunks in (queued or {}).items():
        link._write(chunks[0] if len(chunks) == 1 else b"".join(chunks))


class FrameHandler(Protocol):
    """What a link reports to (the protocol handler)."""

    def on_frame(self, link: EsmeLink, frame: bytes) -> None:
        """A whole PDU arrived."""

    def on_framing_error(self, link: EsmeLink, error: pdus.FramingError) -> None:
        """The stream is out of sync; the link is about to close."""

    def on_closed(self, link: EsmeLink) -> None:
        """The link is closed (either side); called once, from the reader thread."""


class EsmeLink:
    """A TCP connection from one ESME, bound or not."""

    def __init__(self, sock: socket.socket, link_id: int, handler: FrameHandler) -> None:
        self.sock = sock
        self.link_id = link_id
        host, port = sock.getpeername()[:2]
        self.peer = f"{host}:{port}"
        self.mode: str | None = None  # set by a successful bind
        self.system_id: str | None = None
        self._handler = handler
        self._send_lock = threading.Lock()
        self._closing = False  # nothing more is sent
        self._dropped = False  # nothing more is read either: what follows in the buffer is lost
        self._thread = threading.Thread(target=self._read_loop, name=f"smsc-link-{link_id}", daemon=True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", SEND_TIMEOUT_S, 0))

    @property
    def closed(self) -> bool:
        """True once the link is closing or closed: nothing more is sent on it."""
        return self._closing

    @property
    def can_receive(self) -> bool:
        """Bound as receiver or transceiver and still open: it may be sent deliver_sm."""
        return self.mode in (RECEIVER, TRANSCEIVER) and not self._closing

    @property
    def can_transmit(self) -> bool:
        """Bound as transmitter or transceiver: it may send submit_sm."""
        return self.mode in (TRANSMITTER, TRANSCEIVER)

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the reader thread to end."""
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def send(self, data: bytes) -> bool:
        """Write one or more whole PDUs (queued inside batched_writes); on failure abort the
        link and return False."""
        if self._closing:
            return False
        queued = _batch.queued
        if queued is not None:
            chunks = queued.get(self)
            if chunks is None:
                queued[self] = [data]
            else:
                chunks.append(data)
            return True
        return self._write(data)

    def flush(self) -> None:
        """Write what the calling thread has queued for this link now, not at the block's end."""
        queued = _batch.queued
        if queued is not None:
            chunks = queued.pop(self, None)
            if chunks:
                self._write(b"".join(chunks))

    def _write(self, data: bytes) -> bool:
        if self._closing:  # closed while the data was queued: it is lost with the link
            return False
        try:
            with self._send_lock:
                self.sock.sendall(data)
        except OSError as exc:
            logger.info("link %d: write failed (%s); dropping it", self.link_id, exc)
            self.abort()
            return False
        return True

    def send_and_close(self, data: bytes) -> None:
        """Write a final PDU (unbind_resp) and close the link in an orderly way."""
        self.send(data)
        self.flush()
        self._closing = self._dropped = True
        self._shutdown()

    def unbind(self, data: bytes) -> None:
        """Send an SMSC-initiated unbind; nothing more is sent, the unbind_resp closes the link."""
        self.send(data)
        self.flush()
        self._closing = True

    def abort(self) -> None:
        """Close abruptly, as a crashed SMSC or a cut cable would: RST, no unbind."""
        self.flush()  # what this thread sent before the abort goes out before the RST
        self._closing = self._dropped = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # already closed
        self._shutdown()

    def _shutdown(self) -> None:
        # shutdown() rather than close(): it wakes the reader blocked in recv().
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_loop(self) -> None:
        framer = pdus.Framer()
        try:
            while True:
                data = self.sock.recv(_RECV_BYTES)
                if not data:
                    return
                # The answers to everything in this chunk go out together once it is handled.
                with batched_writes():
                    for frame in framer.feed(data):
                        if self._dropped:
                            return
                        self._handler.on_frame(self, frame)
        except pdus.FramingError as exc:
            self._handler.on_framing_error(self, exc)
        except OSError as exc:
            if not self._closing:
                logger.info("link %d: read failed: %s", self.link_id, exc)
        except Exception:
            logger.exception("link %d: handler failed; dropping the link", self.link_id)
        finally:
            self._closing = True
            self.sock.close()
            self._handler.on_closed(self)
