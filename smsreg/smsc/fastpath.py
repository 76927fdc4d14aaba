"""Cheap versions of the simulator's per-MO work for flood mode: the MO and receipt bodies
built straight from their few variable fields, receipt time stamps cached per minute, and
GSM text decoded in C.

Each function here has a general counterpart (pdus.deliver_sm_body, receipts.receipt_text,
codec.decode_mo) that stays the reference: the tests compare them on many inputs, and every
case outside the common one is handed to the counterpart rather than reimplemented.
"""

from __future__ import annotations

import codecs
import struct
import time

from smsreg import codec
from smsreg.smsc import pdus

# message_state (0x0427, 1 octet) then receipted_message_id (0x001E, C string): smpplib's
# DeliverSM.params_order puts message_state first, and the bodies must match its output.
_MESSAGE_STATE = struct.Struct(">HHB")
_TLV_HEAD = struct.Struct(">HH")
_TAG_MESSAGE_STATE = 0x0427
_TAG_RECEIPTED_ID = 0x001E

# Unpacked GSM septets when no escape (0x1B) is present: one table lookup per byte, done by
# the charmap codec in C. A byte above 0x7F is U+FFFD, as codec._decode_gsm makes it.
_GSM_TABLE = codec.GSM_BASIC + codec.REPLACEMENT * 128
_ESCAPE = bytes((codec.GSM_ESCAPE,))
# And back, for text made of basic-table characters only (the escape is not one of them).
_GSM_CODES = {ord(ch): code for code, ch in enumerate(codec.GSM_BASIC) if code != codec.GSM_ESCAPE}


def decode_text(payload: bytes, data_coding: int) -> str | None:
    """codec.decode_mo(payload, data_coding), or None where it raises: the recorder's decode."""
    if data_coding in codec.GSM_CODINGS:
        if _ESCAPE not in payload:
            return codecs.charmap_decode(payload, "strict", _GSM_TABLE)[0]
    elif data_coding in codec.UCS2_CODINGS:  # a reply with diacritics
        return payload.decode("utf-16-be", errors="replace")
    try:
        return codec.decode_mo(payload, data_coding)
    except ValueError:
        return None


def encode_text(text: str, data_coding: int) -> bytes:
    """codec.encode_text(text, data_coding); raises ValueError as it does."""
    if data_coding == codec.DC_GSM:
        try:
            return codecs.charmap_encode(text, "strict", _GSM_CODES)[0]
        except UnicodeEncodeError:
            pass  # an extension-table character or none at all: codec knows which
    return codec.encode_text(text, data_coding)


def mo_body(source: str, destination: str, source_ton: int, source_npi: int, dest_ton: int, dest_npi: int,
            esm_class: int, data_coding: int, short_message: bytes) -> bytes:  # fmt: skip
    """pdus.deliver_sm_body for a deliver_sm without TLVs, without the SmFields round trip."""
    return b"".join(
        (
            b"\0",  # service_type
            bytes((source_ton, source_npi)),
            source.encode("latin-1"),
            b"\0",
            bytes((dest_ton, dest_npi)),
            destination.encode("latin-1"),
            b"\0",
            bytes((esm_class, 0, 0, 0, 0, 0, 0, data_coding, 0, len(short_message))),
            short_message,
        )
    )


def receipt_body(source: str, destination: str, short_message: bytes, message_id: str, state: int) -> bytes:
    """The deliver_sm body of a delivery receipt, as receipts.build_receipt encodes it:
    esm_class 0x04, data_coding 0, source TON/NPI 1/1, then message_state and
    receipted_message_id."""
    message_id_z = message_id.encode("ascii") + b"\0"
    return b"".join(
        (
            mo_body(source, destination, 1, 1, 0, 0, pdus.ESM_RECEIPT, 0, short_message),
            _MESSAGE_STATE.pack(_TAG_MESSAGE_STATE, 1, state),
            _TLV_HEAD.pack(_TAG_RECEIPTED_ID, len(message_id_z)),
            message_id_z,
        )
    )


class MinuteStamp:
    """The receipt's YYMMDDhhmm local time stamp, formatted once per minute.

    Local time offsets change on whole minutes, so every instant within one epoch minute
    has the same local YYMMDDhhmm. Not locked: racing threads at worst both format it.
    """

    def __init__(self) -> None:
        self._minute = -1
        self._text = ""

    def now(self) -> str:
        """The stamp of time.time(), like receipts._stamp(datetime.datetime.now())."""
        now = time.time()
        minute = int(now // 60)
        if minute != self._minute:
            self._text = time.strftime("%y%m%d%H%M", time.localtime(now))
            self._minute = minute
        return self._text
