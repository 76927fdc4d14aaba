"""Batched writes: answers to one chunk go out together, in order, and never after the event
(bind, unbind, a dropped link) they must precede. Raw sockets, to see the exact byte order."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from smsreg.smsc import Simulator, esme, pdus
from tests.smsc.conftest import WAIT_S

HEADER = struct.Struct(">LLLL")


def _pdu(command_id: int, sequence: int, body: bytes = b"") -> bytes:
    return HEADER.pack(16 + len(body), command_id, 0, sequence) + body


def _bind(system_id: str = "smsreg", password: str = "secret", sequence: int = 1) -> bytes:
    body = system_id.encode() + b"\0" + password.encode() + b"\0" + b"\0" + bytes((0x34, 0, 0)) + b"\0"
    return _pdu(pdus.BIND_TRANSCEIVER, sequence, body)


def _submit(sequence: int, text: bytes = b"MK: x") -> bytes:
    body = b"\0\0\0" + b"8188\0" + b"\1\1" + b"84912345678\0" + bytes((0, 0, 0)) + b"\0\0"
    return _pdu(pdus.SUBMIT_SM, sequence, body + bytes((0, 0, 0, 0, len(text))) + text)


def _read_pdus(sock: socket.socket, n: int) -> list[tuple[int, int, int]]:
    """(command_id, status, sequence) of the next n PDUs, or fewer if the link closes."""
    buf = b""
    out: list[tuple[int, int, int]] = []
    while len(out) < n:
        while len(buf) >= 16 and len(buf) >= HEADER.unpack_from(buf)[0]:
            length, command_id, status, sequence = HEADER.unpack_from(buf)
            out.append((command_id, status, sequence))
            buf = buf[length:]
        if len(out) >= n:
            break
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        buf += data
    return out


@pytest.fixture
def raw(smsc: Simulator) -> Iterator[socket.socket]:
    sock = socket.create_connection(smsc.address, timeout=WAIT_S)
    yield sock
    sock.close()


def test_answers_to_one_chunk_come_back_in_order(raw: socket.socket) -> None:
    raw.sendall(_bind() + b"".join(_pdu(pdus.ENQUIRE_LINK, seq) for seq in range(2, 40)))
    got = _read_pdus(raw, 39)
    assert got[0] == (pdus.BIND_TRANSCEIVER | pdus.RESP_BIT, 0, 1)
    assert got[1:] == [(pdus.ENQUIRE_LINK | pdus.RESP_BIT, 0, seq) for seq in range(2, 40)]


def test_bind_resp_precedes_the_first_deliver_sm(smsc: Simulator, raw: socket.socket) -> None:
    handle = smsc.send_mo("TK,queued before the bind")  # waits for a receiver
    # A long chunk: other threads get the GIL (and may deliver) while its answers are held.
    raw.sendall(_bind() + b"".join(_pdu(pdus.ENQUIRE_LINK, seq) for seq in range(2, 3002)))
    got = _read_pdus(raw, 3002)
    assert got[0] == (pdus.BIND_TRANSCEIVER | pdus.RESP_BIT, 0, 1)
    assert sorted(cid for cid, _, _ in got[1:]).count(pdus.DELIVER_SM) == 1
    assert not handle.done


def test_unbind_answers_what_came_before_it_then_closes(raw: socket.socket) -> None:
    raw.sendall(_bind() + _pdu(pdus.ENQUIRE_LINK, 2) + _pdu(pdus.UNBIND, 3) + _pdu(pdus.ENQUIRE_LINK, 4))
    got = _read_pdus(raw, 4)
    assert [seq for _, _, seq in got] == [1, 2, 3]  # nothing after the unbind_resp: closed
    assert got[2][0] == pdus.UNBIND | pdus.RESP_BIT


def test_a_lost_resp_drops_the_link_after_earlier_answers(smsc: Simulator, raw: socket.socket) -> None:
    raw.sendall(_bind())
    assert _read_pdus(raw, 1)[0][0] == pdus.BIND_TRANSCEIVER | pdus.RESP_BIT
    smsc.lose_submit_resp(1)
    raw.sendall(_pdu(pdus.ENQUIRE_LINK, 2) + _submit(3) + _pdu(pdus.ENQUIRE_LINK, 4))
    got = _read_pdus(raw, 3)
    assert got == [(pdus.ENQUIRE_LINK | pdus.RESP_BIT, 0, 2)]
    assert len(smsc.submits) == 1 and smsc.counters.lost_resps == 1


class _NoFrames:
    def on_frame(self, link: esme.EsmeLink, frame: bytes) -> None: ...
    def on_framing_error(self, link: esme.EsmeLink, error: pdus.FramingError) -> None: ...
    def on_closed(self, link: esme.EsmeLink) -> None: ...


@pytest.fixture
def pair() -> Iterator[tuple[esme.EsmeLink, socket.socket]]:
    listener = socket.create_server(("127.0.0.1", 0))
    peer = socket.create_connection(listener.getsockname()[:2], timeout=WAIT_S)
    sock, _ = listener.accept()
    listener.close()
    yield esme.EsmeLink(sock, 1, _NoFrames()), peer
    peer.close()
    sock.close()


def _pending(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return b""
    finally:
        sock.setblocking(True)


def test_batched_writes_hold_this_threads_sends_until_the_end(pair: tuple[esme.EsmeLink, socket.socket]) -> None:
    link, peer = pair
    with esme.batched_writes():
        assert link.send(b"one") and link.send(b"two")
        other = threading.Thread(target=link.send, args=(b"[other thread]",))
        other.start()
        other.join()
        assert peer.recv(100) == b"[other thread]"  # another thread's writes are not held
        with esme.batched_writes():  # nested: joins the outer block
            link.send(b"three")
        assert _pending(peer) == b""
    assert _read_exactly(peer, 11) == b"onetwothree"


def test_flush_writes_early_and_abort_flushes_first(pair: tuple[esme.EsmeLink, socket.socket]) -> None:
    link, peer = pair
    with esme.batched_writes():
        link.send(b"bind_resp")
        link.flush()
        assert _read_exactly(peer, 9) == b"bind_resp"
        link.send(b"before the RST")
        link.abort()
        assert not link.send(b"after")
    assert _read_exactly(peer, 14) == b"before the RST"


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data
