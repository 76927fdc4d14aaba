"""Fault injection: throttling, dropped links, SMSC unbind, silence, lost responses, raw bytes."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import smpplib.smpp

from smsreg.smsc import Simulator, pdus
from tests.smsc.conftest import WAIT_S, eventually
from tests.smsc.esme import Esme


def test_every_third_submit_is_throttled(smsc: Simulator, esme: Esme) -> None:
    smsc.throttle(every=3)
    statuses = [esme.wait_resp(esme.submit(b"MK %d" % n, destination=f"8490500000{n}")).status for n in range(6)]
    assert statuses == [0, 0, pdus.ESME_RTHROTTLED, 0, 0, pdus.ESME_RTHROTTLED]
    assert len(smsc.replies) == 4
    counters = smsc.counters
    assert (counters.submits, counters.throttled) == (6, 2)
    smsc.throttle(every=0)
    assert esme.wait_resp(esme.submit(b"MK 6")).status == 0


def test_drop_links_closes_every_esme(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    one, two = connect(), connect()
    assert smsc.drop_links() == 2
    assert one.disconnected.wait(WAIT_S) and two.disconnected.wait(WAIT_S)
    assert eventually(lambda: smsc.bound_count == 0)


def test_smsc_initiated_unbind(smsc: Simulator, esme: Esme) -> None:
    assert smsc.send_unbind() == 1
    assert esme.wait_other("unbind", WAIT_S) is not None
    assert esme.disconnected.wait(WAIT_S)  # closed once the ESME answered unbind_resp
    assert smsc.bound_count == 0


def test_silence_answers_nothing_then_recovers(smsc: Simulator, esme: Esme) -> None:
    smsc.silence(0.8)
    sequence = esme.submit(b"MK: during silence")
    handle = smsc.send_mo("TK,A")
    assert esme.wait_resp(sequence, timeout=0.4) is None
    assert esme.received == [] and not handle.done
    assert handle.wait_acked(WAIT_S)  # delivered once the silence is over
    assert smsc.replies == [] and smsc.counters.silenced == 1
    assert esme.wait_resp(esme.submit(b"MK: after")).status == 0


def test_lost_submit_resp_makes_the_resend_a_duplicate(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    first = connect()
    smsc.lose_submit_resp(1)
    sequence = first.submit(b"MK: Ab3dEf7h")
    assert first.disconnected.wait(WAIT_S)
    assert first.wait_resp(sequence, timeout=0.1) is None
    assert len(smsc.replies) == 1  # accepted although never answered
    second = connect()
    assert second.wait_resp(second.submit(b"MK: Ab3dEf7h")).status == 0  # the ESME's resend
    assert len(smsc.wait_replies(2, WAIT_S)) == 2
    assert smsc.counters.duplicates == 1 and smsc.counters.lost_resps == 1


def test_send_raw_reaches_the_esme(smsc: Simulator) -> None:
    with socket.create_connection(smsc.address, timeout=WAIT_S) as raw:
        deadline = time.monotonic() + WAIT_S
        while smsc.send_raw(b"\x00\x00\x00\x05X") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the accept thread may not have registered the link yet
        assert raw.recv(16) == b"\x00\x00\x00\x05X"


def test_nothing_after_a_lost_resp_is_processed(smsc: Simulator, esme: Esme) -> None:
    smsc.lose_submit_resp(1)
    first, second = (
        smpplib.smpp.make_pdu("submit_sm", client=esme.client, destination_addr=f"8490500000{n}", short_message=b"x")
        for n in (1, 2)
    )
    esme.client._socket.sendall(first.generate() + second.generate())  # one segment: both read at once
    assert esme.disconnected.wait(WAIT_S)
    assert [s.destination for s in smsc.submits] == ["84905000001"]
