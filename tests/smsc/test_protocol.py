"""Session-level behaviour: binds, enquire_link, unbind, generic_nack, submit_sm answers."""

from __future__ import annotations

import re
import socket
import struct
from collections.abc import Callable

import pytest
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from smsreg.smsc import Simulator, pdus
from tests.smsc.conftest import WAIT_S
from tests.smsc.esme import Esme


def test_bind_transceiver_succeeds(smsc: Simulator, esme: Esme) -> None:
    assert smsc.wait_bound(1, WAIT_S)
    assert smsc.counters.binds == 1


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [("smsreg", "wrong", pdus.ESME_RINVPASWD), ("stranger", "secret", pdus.ESME_RBINDFAIL)],
)
def test_bad_credentials_are_refused(smsc: Simulator, connect: Callable[..., Esme],
                                     system_id: str, password: str, status: int) -> None:  # fmt: skip
    with pytest.raises(smpplib.exceptions.PDUError) as refused:
        connect(system_id=system_id, password=password)
    assert refused.value.args[1] == status
    assert smsc.counters.bind_failures == 1
    assert smsc.bound_count == 0


def test_credentials_can_change_while_running(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    smsc.bind_credentials = ("smsreg", "rotated")
    with pytest.raises(smpplib.exceptions.PDUError):
        connect()
    connect(password="rotated")
    assert smsc.wait_bound(1, WAIT_S)


def test_enquire_link_is_answered(esme: Esme) -> None:
    esme.send(smpplib.smpp.make_pdu("enquire_link", client=esme.client))
    assert esme.wait_other("enquire_link_resp", WAIT_S) is not None


def test_unbind_from_esme_is_answered_then_closed(smsc: Simulator, esme: Esme) -> None:
    esme.send(smpplib.smpp.make_pdu("unbind", client=esme.client))
    assert esme.wait_other("unbind_resp", WAIT_S) is not None
    assert esme.disconnected.wait(WAIT_S)


def test_unknown_command_gets_generic_nack(smsc: Simulator, esme: Esme) -> None:
    esme.client._socket.sendall(struct.pack(">LLLL", 16, 0x00000099, 0, 4242))
    nack = esme.wait_other("generic_nack", WAIT_S)
    assert nack is not None
    assert (nack.status, nack.sequence) == (pdus.ESME_RINVCMDID, 4242)
    # The link survives a nacked PDU.
    sequence = esme.submit(b"still here")
    assert esme.wait_resp(sequence).status == 0


def test_submit_sm_gets_a_hex_message_id(smsc: Simulator, esme: Esme) -> None:
    sequence = esme.submit(b"TK: 048090012345", destination="84905123456", source_addr="8188")
    resp = esme.wait_resp(sequence)
    assert resp.status == 0
    message_id = resp.message_id.decode()
    assert re.fullmatch(r"[0-9a-f]{10}", message_id)
    [reply] = smsc.wait_replies(1, WAIT_S)
    assert (reply.destination, reply.source, reply.text) == ("84905123456", "8188", "TK: 048090012345")
    assert reply.message_ids == (message_id,)
    assert reply.segments == 1 and not reply.registered_delivery


def test_message_ids_are_unique(smsc: Simulator, esme: Esme) -> None:
    ids = {esme.wait_resp(esme.submit(b"x%d" % n)).message_id for n in range(5)}
    assert len(ids) == 5


def test_submit_before_bind_is_refused(smsc: Simulator) -> None:
    with socket.create_connection(smsc.address, timeout=WAIT_S) as raw:
        submit = smpplib.smpp.make_pdu("submit_sm", sequence=7, destination_addr="849", short_message=b"x")
        submit.sequence = 7
        raw.sendall(submit.generate())
        _, command_id, status, sequence = struct.unpack(">LLLL", raw.recv(16))
    assert (command_id, status, sequence) == (pdus.SUBMIT_SM | pdus.RESP_BIT, pdus.ESME_RINVBNDSTS, 7)
    assert smsc.replies == []


def test_garbage_length_is_nacked_and_the_link_closed(smsc: Simulator) -> None:
    with socket.create_connection(smsc.address, timeout=WAIT_S) as raw:
        raw.sendall(struct.pack(">L", 3) + b"junk")
        _, command_id, status, _ = struct.unpack(">LLLL", raw.recv(16))
        assert (command_id, status) == (pdus.GENERIC_NACK, pdus.ESME_RINVCMDLEN)
        assert raw.recv(16) == b""  # closed by the simulator
    assert smsc.counters.malformed == 1


def test_mos_go_to_receivers_and_submits_need_a_transmitter(smsc: Simulator,
                                                             connect: Callable[..., Esme]) -> None:  # fmt: skip
    transmitter = connect(mode="transmitter")
    receiver = connect(mode="receiver")
    handles = [smsc.send_mo(f"TK,{n}") for n in range(3)]
    assert all(h.wait_acked(WAIT_S) for h in handles)
    assert len(receiver.received) == 3 and transmitter.received == []
    assert transmitter.wait_resp(transmitter.submit(b"MK: x")).status == 0
    refused = smpplib.smpp.make_pdu("submit_sm", client=receiver.client, destination_addr="849", short_message=b"x")
    receiver.client.state = smpplib.consts.SMPP_CLIENT_STATE_BOUND_TRX  # smpplib itself would refuse to send it
    receiver.send(refused)
    assert receiver.wait_resp(refused.sequence).status == pdus.ESME_RINVBNDSTS


def test_a_second_bind_on_one_link_is_refused(esme: Esme) -> None:
    again = smpplib.smpp.make_pdu("bind_transceiver", client=esme.client, system_id="smsreg", password="secret")
    esme.client._socket.sendall(again.generate())
    resp = esme.wait_other("bind_transceiver_resp", WAIT_S)
    assert resp is not None and resp.status == pdus.ESME_RALYBND
