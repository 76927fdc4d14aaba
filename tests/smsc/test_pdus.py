"""The simulator's wire fast paths agree byte for byte with smpplib; segmenting is safe."""

from __future__ import annotations

from typing import Any

import pytest
import smpplib.smpp
from hypothesis import given
from hypothesis import strategies as st

from smsreg import codec
from smsreg.smsc import mo, pdus

addresses = st.text(alphabet="0123456789", min_size=0, max_size=20)
octet = st.integers(0, 255)
user_data = st.binary(max_size=254)
TLVS = {
    "sar_msg_ref_num": st.integers(0, 0xFFFF),
    "sar_total_segments": octet,
    "sar_segment_seqnum": octet,
    "message_state": octet,
    "receipted_message_id": st.text(alphabet="0123456789abcdef", min_size=1, max_size=20),
    "message_payload": st.binary(min_size=1, max_size=300),
}
tlv_sets = st.fixed_dictionaries({}, optional=TLVS)


def _smpplib_pdu(command: str, fields: pdus.SmFields) -> bytes:
    kwargs: dict[str, Any] = dict(
        source_addr_ton=fields.source_ton, source_addr_npi=fields.source_npi, source_addr=fields.source,
        dest_addr_ton=fields.dest_ton, dest_addr_npi=fields.dest_npi, destination_addr=fields.destination,
        esm_class=fields.esm_class, data_coding=fields.data_coding, **(fields.tlvs or {}),
    )  # fmt: skip
    if fields.short_message:
        kwargs["short_message"] = fields.short_message
    pdu = smpplib.smpp.make_pdu(command, sequence=1, **kwargs)
    pdu.sequence = 9
    return bytes(pdu.generate())


@given(addresses, addresses, octet, octet, octet, octet, user_data, tlv_sets)
def test_deliver_sm_body_matches_smpplib(source: str, destination: str, ton: int, npi: int, esm: int,
                                         dc: int, data: bytes, tlvs: dict[str, Any]) -> None:  # fmt: skip
    if data:
        tlvs.pop("message_payload", None)  # smpplib refuses both at once
    fields = pdus.SmFields(source, destination, ton, npi, npi, ton, esm, dc, data, tlvs)
    assert pdus.pack(pdus.DELIVER_SM, 9, pdus.deliver_sm_body(fields)) == _smpplib_pdu("deliver_sm", fields)


@given(addresses, addresses, octet, octet, tlv_sets)
def test_data_sm_body_matches_smpplib(source: str, destination: str, esm: int, dc: int,
                                      tlvs: dict[str, Any]) -> None:  # fmt: skip
    fields = pdus.SmFields(source, destination, esm_class=esm, data_coding=dc, tlvs=tlvs)
    assert pdus.pack(pdus.DATA_SM, 9, pdus.data_sm_body(fields)) == _smpplib_pdu("data_sm", fields)


@given(addresses, addresses, octet, octet, octet, octet, user_data, st.booleans())
def test_parse_submit_matches_smpplib(source: str, destination: str, ton: int, esm: int, registered: int,
                                      dc: int, data: bytes, with_sar: bool) -> None:  # fmt: skip
    sar = {"sar_msg_ref_num": 5, "sar_total_segments": 2, "sar_segment_seqnum": 1} if with_sar else {}
    pdu = smpplib.smpp.make_pdu(
        "submit_sm", sequence=1, source_addr=source, destination_addr=destination, source_addr_ton=ton,
        dest_addr_ton=ton, esm_class=esm, registered_delivery=registered, data_coding=dc,
        short_message=data or None, **sar,
    )  # fmt: skip
    pdu.sequence = 3
    parsed = pdus.parse_submit(pdu.generate())
    assert (parsed.source, parsed.destination, parsed.source_ton, parsed.dest_ton) == (source, destination, ton, ton)
    assert (parsed.esm_class, parsed.registered_delivery, parsed.data_coding) == (esm, registered, dc)
    assert parsed.short_message == data
    assert parsed.sar == ((5, 2, 1) if with_sar else None)


def test_parse_submit_rejects_a_short_message_past_the_end() -> None:
    frame = pdus.pack(pdus.SUBMIT_SM, 1, b"\0\1\1849\0\1\1" + b"8188\0" + b"\0\0\0\0\0\0\0\0\0\x50abc")
    with pytest.raises(pdus.MalformedPdu):
        pdus.parse_submit(frame)


@given(st.lists(st.binary(min_size=0, max_size=40), max_size=6), st.integers(1, 50))
def test_framer_reassembles_any_chunking(bodies: list[bytes], chunk: int) -> None:
    frames = [pdus.pack(pdus.ENQUIRE_LINK, n, body) for n, body in enumerate(bodies)]
    stream = b"".join(frames)
    framer, out = pdus.Framer(), []
    for start in range(0, len(stream), chunk):
        out += framer.feed(stream[start : start + chunk])
    assert out == frames


def test_framer_rejects_impossible_lengths() -> None:
    with pytest.raises(pdus.FramingError):
        pdus.Framer().feed(b"\0\0\0\x0f" + bytes(12))


@given(st.text(alphabet=st.sampled_from("aZ09 ,{}€^đ😀"), max_size=400), st.sampled_from([0, 8]),
       st.one_of(st.none(), st.integers(1, 6)))  # fmt: skip
def test_segments_join_back_and_keep_characters_whole(text: str, dc: int, parts: int | None) -> None:
    if dc == 0:
        text = "".join(ch for ch in text if codec.is_gsm(ch))
    payload = codec.encode_text(text, dc)
    chunks = mo.split_payload(payload, dc, parts)
    assert b"".join(chunks) == payload
    for chunk in chunks:
        assert codec.decode_mo(chunk, dc) is not None
        if dc == 8:
            assert len(chunk) % 2 == 0 and "\ufffd" not in chunk.decode("utf-16-be", errors="replace")
        elif chunk:
            assert chunk[-1] != 0x1B or chunk is chunks[-1]


def test_split_mo_refuses_an_oversized_short_message() -> None:
    with pytest.raises(ValueError, match="message_payload"):
        mo.build_pdus(mo.MoSpec(payload=bytes(300)), reference=1)
