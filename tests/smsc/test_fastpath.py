"""The flood fast paths give exactly what their general counterparts (and smpplib) give."""

from __future__ import annotations

import datetime
import time
from unittest import mock

import pytest
import smpplib.smpp
from hypothesis import given
from hypothesis import strategies as st

from smsreg import codec
from smsreg.smsc import fastpath, mo, pdus, receipts
from smsreg.smsc.records import Submit

addresses = st.text(alphabet="0123456789", min_size=0, max_size=20)
latin1_addresses = st.text(alphabet=st.characters(max_codepoint=0xFF, blacklist_characters="\0"), max_size=20)
octet = st.integers(0, 255)
message_ids = st.text(alphabet="0123456789abcdef", min_size=1, max_size=20)
GSM_SEPTETS = st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b))
CODINGS = st.sampled_from(sorted({0, 1, 2, 3, 4, 8, 0x10, 0x13, 0x18, 0xF0, 0xF3, 0xF4, 0xFF}))


def _smpplib_deliver_sm(**fields: object) -> bytes:
    pdu = smpplib.smpp.make_pdu("deliver_sm", sequence=1, **fields)
    pdu.sequence = 9  # as in test_pdus: make_pdu's sequence is the generator's, not the PDU's
    return bytes(pdu.generate())


@given(latin1_addresses, latin1_addresses, octet, octet, octet, octet, octet, octet, st.binary(max_size=254))
def test_mo_body_matches_deliver_sm_body(source: str, destination: str, ston: int, snpi: int, dton: int,
                                         dnpi: int, esm: int, dc: int, data: bytes) -> None:  # fmt: skip
    fields = pdus.SmFields(source, destination, ston, snpi, dton, dnpi, esm, dc, data)
    body = fastpath.mo_body(source, destination, ston, snpi, dton, dnpi, esm, dc, data)
    assert body == pdus.deliver_sm_body(fields)


@given(addresses, addresses, octet, octet, st.binary(min_size=1, max_size=254))
def test_mo_body_matches_smpplib(source: str, destination: str, esm: int, dc: int, data: bytes) -> None:
    body = fastpath.mo_body(source, destination, 1, 1, 0, 0, esm, dc, data)
    expected = _smpplib_deliver_sm(source_addr_ton=1, source_addr_npi=1, source_addr=source, dest_addr_ton=0,
                                   dest_addr_npi=0, destination_addr=destination, esm_class=esm, data_coding=dc,
                                   short_message=data)  # fmt: skip
    assert pdus.pack(pdus.DELIVER_SM, 9, body) == expected


@given(addresses, addresses, st.binary(min_size=1, max_size=200), message_ids, octet)
def test_receipt_body_matches_smpplib(source: str, destination: str, text: bytes, message_id: str,
                                      state: int) -> None:  # fmt: skip
    body = fastpath.receipt_body(source, destination, text, message_id, state)
    tlvs: dict[str, int | bytes | str] = {"receipted_message_id": message_id, "message_state": state}
    fields = pdus.SmFields(source, destination, esm_class=pdus.ESM_RECEIPT, short_message=text, tlvs=tlvs)
    assert body == pdus.deliver_sm_body(fields)
    expected = _smpplib_deliver_sm(source_addr_ton=1, source_addr_npi=1, source_addr=source, dest_addr_ton=0,
                                   dest_addr_npi=0, destination_addr=destination, esm_class=pdus.ESM_RECEIPT,
                                   data_coding=0, short_message=text, **tlvs)  # fmt: skip
    assert pdus.pack(pdus.DELIVER_SM, 9, body) == expected


@pytest.mark.parametrize("text", [None, "", "MK: abc", "Sai cú pháp — gửi lại", "x" * 40])
@pytest.mark.parametrize("state", [receipts.DELIVERED, receipts.UNDELIVERABLE, 99])
def test_build_receipt_now_matches_build_receipt(text: str | None, state: int) -> None:
    submit = Submit(1, 2, pdus.SUBMIT_SM, "8188", "84912345678", 0, 0, 1, b"x", "00c0ffee12", 0.0)
    # build_receipt stamps "done" with the current time: compare with the same minute.
    now = datetime.datetime.now()
    slow = receipts.build_receipt(submit, text, state, now)
    fast = receipts.build_receipt_now(submit, text, state, now.strftime("%y%m%d%H%M"))
    if datetime.datetime.now().minute == now.minute:  # else the minute turned in between
        assert (fast.body, fast.command_id, fast.kind) == (slow.body, slow.command_id, slow.kind)


def test_minute_stamp_is_the_local_time_now() -> None:
    stamp = fastpath.MinuteStamp()
    for _ in range(3):
        before = datetime.datetime.now().strftime("%y%m%d%H%M")
        got = stamp.now()
        after = datetime.datetime.now().strftime("%y%m%d%H%M")
        if before == after:
            assert got == before
            assert stamp.now() == got  # the cached value
            return
        time.sleep(0.01)
    pytest.fail("the minute kept turning")


def _reference_decode(payload: bytes, data_coding: int) -> str | None:
    try:
        return codec.decode_mo(payload, data_coding)
    except ValueError:
        return None


@given(st.binary(max_size=300), CODINGS)
def test_decode_text_matches_codec_on_any_octets(payload: bytes, data_coding: int) -> None:
    assert fastpath.decode_text(payload, data_coding) == _reference_decode(payload, data_coding)


@given(GSM_SEPTETS, st.sampled_from(sorted(codec.GSM_CODINGS)))
def test_decode_text_matches_codec_on_septets(payload: bytes, data_coding: int) -> None:
    assert fastpath.decode_text(payload, data_coding) == _reference_decode(payload, data_coding)


@pytest.mark.parametrize("text", ["TK,Nguyen Van An,048090000001,01.02.1990", "@£$¥èé\nØ", "{[€]}|^~\\", ""])
def test_decode_text_round_trips_gsm_text(text: str) -> None:
    assert fastpath.decode_text(codec.encode_text(text, 0), 0) == text


def _general_mo_body(source: str, destination: str, ston: int, snpi: int, dton: int, dnpi: int,
                     esm: int, dc: int, data: bytes) -> bytes:  # fmt: skip
    return pdus.deliver_sm_body(pdus.SmFields(source, destination, ston, snpi, dton, dnpi, esm, dc, data))


@given(st.text(alphabet="0123456789", min_size=1, max_size=15), st.sampled_from(["short_message", "udh"]),
       st.sampled_from([0, 8]), st.text(max_size=400))  # fmt: skip
def test_mo_pdus_are_the_general_encoders_bytes(source: str, via: mo.Via, dc: int, text: str) -> None:
    spec = mo.MoSpec(text=text, source=source, via=via, data_coding=dc)
    try:
        fast = mo.build_pdus(spec, 7)
    except ValueError:
        return  # not encodable in dc, or too long for one short_message
    with mock.patch.object(fastpath, "mo_body", _general_mo_body):
        assert mo.build_pdus(spec, 7) == fast


def _reference_encode(text: str, data_coding: int) -> bytes | None:
    try:
        return codec.encode_text(text, data_coding)
    except ValueError:
        return None


def _fast_encode(text: str, data_coding: int) -> bytes | None:
    try:
        return fastpath.encode_text(text, data_coding)
    except ValueError:
        return None


@given(st.text(max_size=200), st.sampled_from([0, 1, 3, 8, 2]))
def test_encode_text_matches_codec_on_any_text(text: str, data_coding: int) -> None:
    assert _fast_encode(text, data_coding) == _reference_encode(text, data_coding)


@given(st.text(alphabet=codec.GSM_BASIC + "".join(codec.GSM_EXTENSION.values()), max_size=200))
def test_encode_text_matches_codec_on_gsm_text(text: str) -> None:
    assert _fast_encode(text, 0) == _reference_encode(text, 0)
