"""The struct fast path of smsreg.pdus gives exactly what the smpplib path gives, or defers to it."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsreg import pdus
from smsreg.smsc import pdus as sim

ADDRESS = st.text(st.characters(codec="latin-1", exclude_characters="\x00"), max_size=24)
OCTET = st.integers(0, 255)
# Tags: ours (right and wrong lengths), known to smpplib but not read by smsreg, a vendor tag.
TAGS = st.sampled_from([0x020C, 0x020E, 0x020F, 0x0424, 0x001E, 0x0427, 0x0204, 0x020A, 0x0005, 0x1401, 0x1500])


@st.composite
def tlvs(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(0, 4))):
        tag = draw(TAGS)
        value = draw(st.binary(max_size=8) | st.sampled_from([b"\x01", b"\x00\x07", b"abc123\x00"]))
        out += struct.pack(">HH", tag, len(value)) + value
    return out


@st.composite
def deliver_sms(draw: st.DrawFn) -> bytes:
    fields = sim.SmFields(source=draw(ADDRESS), destination=draw(ADDRESS), source_ton=draw(OCTET),
                          source_npi=draw(OCTET), esm_class=draw(OCTET), data_coding=draw(OCTET),
                          short_message=draw(st.binary(max_size=160)))
    body = sim.deliver_sm_body(fields) + draw(tlvs())
    cut = draw(st.none() | st.integers(0, len(body)))
    return sim.pack(sim.DELIVER_SM, draw(st.integers(1, 0x7FFFFFFF)), body[:cut])


def outcome(parse: object, raw: bytes) -> object:
    try:
        return parse(raw)  # type: ignore[operator]
    except ValueError:
        return ValueError


@settings(max_examples=1500)
@given(deliver_sms())
def test_deliver_sm_parses_as_smpplib_does(raw: bytes) -> None:
    assert outcome(pdus.parse, raw) == outcome(pdus.parse_with_smpplib, raw)


def test_receipt_and_concatenation_tlvs_take_the_fast_path() -> None:
    receipt = sim.SmFields("84901234567", "8188", esm_class=4, short_message=b"id:ab stat:DELIVRD",
                           tlvs={"receipted_message_id": "00ab", "message_state": 2})
    part = sim.SmFields("84901234567", "8188", short_message=b"TK,",
                        tlvs={"sar_msg_ref_num": 513, "sar_total_segments": 2, "sar_segment_seqnum": 1})
    payload = sim.SmFields("84901234567", "8188", tlvs={"message_payload": b"TK,A,1,2"})
    for fields in (receipt, part, payload):
        raw = sim.pack(sim.DELIVER_SM, 9, sim.deliver_sm_body(fields))
        fast = pdus._fast_parse(raw)
        assert fast is not None and fast == pdus.parse_with_smpplib(raw)


@settings(max_examples=500)
@given(st.binary(max_size=40), st.sampled_from([0x80000004, 0x80000015, 0x80000006, 0x80000005]),
       st.integers(0, 0xFF))
def test_responses_parse_as_smpplib_does(body: bytes, command_id: int, status: int) -> None:
    raw = sim.pack(command_id, 5, body, status)
    assert outcome(pdus.parse, raw) == outcome(pdus.parse_with_smpplib, raw)


def test_submit_sm_resp_message_id() -> None:
    raw = sim.response(sim.SUBMIT_SM, 77, message_id="0a1b2c")
    assert pdus.parse(raw) == pdus.Response(77, "submit_sm_resp", 0, "0a1b2c") == pdus.parse_with_smpplib(raw)


@settings(max_examples=1000)
@given(ADDRESS | st.none(), ADDRESS | st.none(), st.lists(st.integers(0, 300), min_size=7, max_size=7),
       st.binary(max_size=260), st.integers(1, 0x7FFFFFFF))
def test_submit_sm_is_built_as_smpplib_builds_it(source: str | None, dest: str | None, octets: list[int],
                                                 short_message: bytes, seq: int) -> None:
    names = ("source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi", "esm_class",
             "registered_delivery", "data_coding")
    fields: dict[str, object] = {"source_addr": source, "destination_addr": dest,
                                 "short_message": short_message, **dict(zip(names, octets, strict=True))}

    def built(build: object) -> object:
        try:
            return build("submit_sm", seq, **fields)  # type: ignore[operator]
        except (struct.error, ValueError):
            return ValueError
    assert built(pdus.build) == built(pdus.build_with_smpplib)


def test_the_sender_fields_take_the_fast_path() -> None:
    fields: dict[str, object] = {
        "source_addr": "8188", "source_addr_ton": 3, "source_addr_npi": 0, "destination_addr": "84901234567",
        "dest_addr_ton": 1, "dest_addr_npi": 1, "esm_class": 0x40, "data_coding": 0,
        "short_message": b"\x05\x00\x03\x01\x02\x01hello", "registered_delivery": 1}
    assert pdus._fast_submit_sm(3, fields) == pdus.build_with_smpplib("submit_sm", 3, **fields)


@pytest.mark.parametrize("name", ["deliver_sm", "data_sm", "enquire_link", "unbind"])
@pytest.mark.parametrize("status", [0, 0x14, 0x64])
def test_responses_are_built_as_smpplib_builds_them(name: str, status: int) -> None:
    assert pdus.response(name, 1234, status) == pdus.build_with_smpplib(f"{name}_resp", 1234, status=status)
