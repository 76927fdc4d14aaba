"""Replies from the ESME: records, reassembly of concatenated submits, receipts, duplicates."""

from __future__ import annotations

import re

import smpplib.smpp

from smsreg import codec
from smsreg.smsc import Simulator, pdus, receipts
from tests.smsc.conftest import WAIT_S, eventually
from tests.smsc.esme import Esme

SUCCESS = "Chuc mung! Ban da dang ky tai khoan dich vu cong dien tu Da Nang. TK: 048090012345, MK: Ab3dEf7h"
RECEIPT_TEXT = re.compile(
    r"id:(?P<id>[0-9a-f]+) sub:001 dlvrd:(?P<dlvrd>\d{3}) submit date:\d{10} done date:\d{10}"
    r" stat:(?P<stat>[A-Z]+) err:\d{3} text:(?P<text>.{0,20})"
)


def _submit_parts(esme: Esme, text: str, destination: str = "84905123456", **fields: object) -> list[str]:
    ids = []
    for part in codec.split_mt(text, reference=7):
        sequence = esme.submit(part.short_message, destination=destination, data_coding=part.data_coding,
                               esm_class=part.esm_class, **fields)  # fmt: skip
        resp = esme.wait_resp(sequence)
        assert resp.status == 0
        ids.append(resp.message_id.decode())
    return ids


def test_concatenated_reply_is_reassembled(smsc: Simulator, esme: Esme) -> None:
    text = SUCCESS.replace("dich vu", "dịch vụ")  # UCS-2, over 70 characters: 2 segments
    ids = _submit_parts(esme, text)
    assert len(ids) == 2
    [reply] = smsc.wait_replies(1, WAIT_S)
    assert reply.text == text
    assert reply.segments == 2 and reply.message_ids == tuple(ids)
    assert reply.data_coding == 8 and reply.encoding == "UCS-2"
    assert len(smsc.submits) == 2


def test_incomplete_concatenated_reply_is_not_a_reply(smsc: Simulator, esme: Esme) -> None:
    first = codec.split_mt(SUCCESS * 2, reference=9)[0]
    sequence = esme.submit(first.short_message, data_coding=first.data_coding, esm_class=first.esm_class)
    assert esme.wait_resp(sequence).status == 0
    assert smsc.replies == [] and smsc.recorder.incomplete == 1


def test_sar_reply_is_reassembled(smsc: Simulator, esme: Esme) -> None:
    for seqnum, chunk in enumerate((b"TK: 0480900", b"12345"), 1):
        sequence = esme.submit(chunk, sar_msg_ref_num=77, sar_total_segments=2, sar_segment_seqnum=seqnum)
        assert esme.wait_resp(sequence).status == 0
    [reply] = smsc.wait_replies(1, WAIT_S)
    assert reply.text == "TK: 048090012345" and reply.segments == 2


def test_data_sm_reply_is_recorded(smsc: Simulator, esme: Esme) -> None:
    pdu = smpplib.smpp.make_pdu("data_sm", client=esme.client, source_addr="8188",
                                destination_addr="84905123456", message_payload=b"MK: x")  # fmt: skip
    esme.send(pdu)
    resp = esme.wait_resp(pdu.sequence)
    assert resp.command == "data_sm_resp" and resp.status == 0
    assert smsc.wait_replies(1, WAIT_S)[0].text == "MK: x"


def test_receipt_follows_when_requested(smsc: Simulator, esme: Esme) -> None:
    [message_id] = _submit_parts(esme, "TK: 048090012345, MK: Ab3dEf7h", registered_delivery=1)
    [receipt] = esme.wait_received(1, WAIT_S)
    assert receipt.esm_class == pdus.ESM_RECEIPT
    assert receipt.receipted_message_id.decode() == message_id
    assert receipt.message_state == receipts.DELIVERED
    assert (receipt.source_addr, receipt.destination_addr) == (b"84905123456", b"8188")
    fields = RECEIPT_TEXT.fullmatch(receipt.short_message.decode())
    assert fields is not None
    assert fields["id"] == message_id and fields["stat"] == "DELIVRD" and fields["dlvrd"] == "001"
    assert fields["text"] == "TK: 048090012345, MK"
    assert eventually(lambda: smsc.receipts_sent[0].delivery.final_status == 0)


def test_receipt_state_per_destination(smsc: Simulator, esme: Esme) -> None:
    smsc.set_receipt_state("84905000001", receipts.UNDELIVERABLE)
    _submit_parts(esme, "MK: x", destination="84905000001", registered_delivery=1)
    [receipt] = esme.wait_received(1, WAIT_S)
    assert receipt.message_state == receipts.UNDELIVERABLE
    assert b"stat:UNDELIV" in receipt.short_message


def test_no_receipt_unless_requested(smsc: Simulator, esme: Esme) -> None:
    _submit_parts(esme, "MK: x")
    smsc.settings.receipts = False
    _submit_parts(esme, "MK: y", registered_delivery=1)
    assert smsc.wait_replies(2, WAIT_S)
    assert esme.wait_received(1, 0.3) == []
    assert smsc.receipts_sent == []


def test_duplicate_replies_are_counted(smsc: Simulator, esme: Esme) -> None:
    _submit_parts(esme, "MK: x", destination="84905000001")
    _submit_parts(esme, "MK: x", destination="84905000002")
    _submit_parts(esme, "MK: x", destination="84905000001")
    assert len(smsc.wait_replies(3, WAIT_S)) == 3
    [duplicate] = smsc.duplicates
    assert duplicate.destination == "84905000001"
    assert smsc.counters.duplicates == 1
