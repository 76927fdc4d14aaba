"""A deliver_sm / data_sm whose fields or TLVs run past its end is refused (ValueError, so the
session answers generic_nack), never turned into an MO made of whatever smpplib found: such an
MO was acknowledged with 0 and stored as garbage, and the citizen's message was lost."""

from __future__ import annotations

import datetime
import struct

import pytest

from smsreg import pdus
from smsreg.smsc import pdus as sp
from smsreg.smsc import receipts
from smsreg.smsc.mo import MoSpec, build_pdus
from smsreg.smsc.records import Submit

TEXT = "TK,Nguyen Van An,048090000001,01.02.1990"
SPECS = [
    MoSpec(TEXT),
    MoSpec("TK,Nguyễn Văn An,048090000001,01.02.1990", data_coding=8),
    MoSpec(TEXT, via="message_payload"),
    MoSpec(TEXT, via="udh", parts=2),
    MoSpec(TEXT, via="sar", parts=2),
    MoSpec(TEXT, as_data_sm=True),
    MoSpec(payload=b""),
    MoSpec(payload=b"x" * 254),
]


def _pdus() -> list[bytes]:
    out = [sp.pack(command_id, 7, body) for spec in SPECS for command_id, body in build_pdus(spec, 3)]
    submit = Submit(1, 1, sp.SUBMIT_SM, "8188", "84901234567", 0, 0, 1, b"x", "0a1b2c3d4e", 0.0)
    receipt = receipts.build_receipt(submit, "x", 2, datetime.datetime(2026, 1, 1))
    out.append(sp.pack(receipt.command_id, 8, receipt.body))
    return out


@pytest.mark.parametrize("raw", _pdus(), ids=lambda raw: f"{len(raw)}B")
def test_well_formed_mo_pdus_parse(raw: bytes) -> None:
    assert isinstance(pdus.parse(raw), pdus.Incoming)


def _cut(raw: bytes, length: int) -> bytes:
    return struct.pack(">L", length) + raw[4:length]


def _mandatory_end(raw: bytes) -> int:
    """Where a deliver_sm's short_message ends (the TLVs start)."""
    pos = 16
    for kind in "soosoosooossoooo":
        pos = raw.index(b"\x00", pos) + 1 if kind == "s" else pos + 1
    return pos + 1 + raw[pos]


@pytest.mark.parametrize("raw", [r for r in _pdus() if sp.header(r)[1] == sp.DELIVER_SM][:4],
                         ids=lambda raw: f"{len(raw)}B")
def test_every_truncation_inside_the_mandatory_fields_is_refused(raw: bytes) -> None:
    for length in range(16, _mandatory_end(raw)):
        with pytest.raises(ValueError):
            pdus.parse(_cut(raw, length))


def _deliver(short_message: bytes, tlvs: bytes = b"", sm_length: int | None = None) -> bytes:
    body = sp.deliver_sm_body(sp.SmFields(source="84901234567", destination="8188", short_message=short_message))
    if sm_length is not None:
        at = len(body) - len(short_message) - 1
        body = body[:at] + bytes((sm_length,)) + body[at + 1:]
    return sp.pack(sp.DELIVER_SM, 9, body + tlvs)


@pytest.mark.parametrize("raw", [
    sp.pack(sp.DELIVER_SM, 9),                                                    # header only
    sp.pack(sp.DELIVER_SM, 9, b"\x00\x01\x01" + b"8490" * 5),                     # address never ends
    _deliver(b"TK,abc", sm_length=200),                                           # sm_length past the end
    _deliver(b"TK,abc", struct.pack(">HH", 0x0424, 50) + b"abc"),                 # TLV value past the end
    _deliver(b"TK,abc", b"\x04\x24\x00"),                                         # TLV header cut
    _deliver(b"TK,abc", struct.pack(">HH", 0x1401, 2) + b"ab" + b"\x00"),         # one stray octet
    sp.pack(sp.DATA_SM, 9, b"\x00\x01"),                                          # data_sm cut short
], ids=["empty", "unterminated", "sm_length", "tlv_value", "tlv_header", "stray_octet", "data_sm"])
def test_malformed_mo_pdus_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        pdus.parse(raw)


def test_unknown_tlvs_and_a_full_short_message_are_accepted() -> None:
    vendor = struct.pack(">HH", 0x1401, 4) + b"abcd" + struct.pack(">HH", 0x7777, 0)
    parsed = pdus.parse(_deliver(b"TK,abc", vendor))
    assert isinstance(parsed, pdus.Incoming) and parsed.short_message == b"TK,abc"
    parsed = pdus.parse(_deliver(b"y" * 255))  # one octet says 255; harmless, so not refused
    assert isinstance(parsed, pdus.Incoming) and parsed.short_message == b"y" * 255
