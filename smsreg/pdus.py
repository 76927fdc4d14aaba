"""SMPP PDUs as plain data: smpplib does the byte layout, nothing untyped leaves this module.

Only the fields smsreg acts on are lifted out of a parsed PDU. Building is done through
smpplib's `make_pdu` with an explicit sequence number, so smpplib's (not thread-safe)
sequence generator is never used.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from typing import Any

from smpplib import command_codes, consts, exceptions, smpp

HEADER = struct.Struct(">LLLL")
MAX_PDU_BYTES = 65_536  # far above any legal SMPP 3.4 PDU; bigger means a broken stream
RESPONSE_BIT = 0x80000000

ESME_ROK = 0x00
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RSYSERR = 0x08
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64


@dataclass(frozen=True, slots=True)
class Incoming:
    """A deliver_sm or data_sm from the SMSC: an MO, a part of one, or a delivery receipt."""

    sequence: int
    command: str               # "deliver_sm" | "data_sm"
    source_addr: str
    source_ton: int
    dest_addr: str
    esm_class: int
    data_coding: int
    short_message: bytes
    message_payload: bytes | None
    sar: tuple[int, int, int] | None        # (reference, total, seq) from the SAR TLVs
    receipted_message_id: str | None
    message_state: int | None

    @property
    def is_receipt(self) -> bool:
        # esm_class message type bits 2-5: 0x04 SMSC delivery receipt, 0x08/0x10/0x20 other acks.
        return bool(self.esm_class & 0x3C) or self.receipted_message_id is not None

    @property
    def has_udh(self) -> bool:
        return bool(self.esm_class & 0x40)

    @property
    def user_data(self) -> bytes:
        return self.message_payload if self.message_payload else self.short_message


@dataclass(frozen=True, slots=True)
class Response:
    sequence: int
    command: str
    status: int
    message_id: str | None


class Sequence:
    """Thread-safe SMPP sequence numbers, 1..0x7FFFFFFF then wrapping (per link)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def next(self) -> int:
        with self._lock:
            self._value = self._value % 0x7FFFFFFF + 1
            return self._value


class _FixedSequence:
    """The `client` smpplib wants for building/parsing; sequence numbers are set explicitly."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


_CLIENT = _FixedSequence()


def header(raw: bytes) -> tuple[int, int, int, int]:
    """(length, command_id, status, sequence) of a raw PDU."""
    length, command_id, status, sequence = HEADER.unpack_from(raw)
    return length, command_id, status, sequence


def is_request(command_id: int) -> bool:
    return not command_id & RESPONSE_BIT


def command_name(command_id: int) -> str | None:
    try:
        return str(command_codes.get_command_name(command_id))
    except exceptions.UnknownCommandError:
        return None


def parse(raw: bytes) -> Incoming | Response | tuple[str, int]:
    """Parse one complete PDU. Returns the MO data, a response, or (command, sequence) for the
    other requests. Raises ValueError for a body that does not parse."""
    check_framing(raw)
    try:
        pdu = smpp.parse_pdu(raw, client=_CLIENT, allow_unknown_opt_params=True)
    except Exception as exc:  # smpplib raises struct.error, IndexError, … on bad bodies
        raise ValueError(f"unparseable PDU: {type(exc).__name__}") from exc
    name = str(pdu.command)
    if name in ("deliver_sm", "data_sm"):
        return _incoming(pdu, name)
    if not is_request(command_codes.get_command_code(name)):
        message_id = getattr(pdu, "message_id", None)
        return Response(int(pdu.sequence), name, int(pdu.status), _text(message_id))
    return name, int(pdu.sequence)


# The mandatory fields of the MO PDUs before their TLVs: C-octet strings (s) and octets (o).
# deliver_sm continues with sm_length and short_message.
_MO_LAYOUTS = {
    0x00000005: ("soosoosooossoooo", True),  # deliver_sm (SMPP 3.4 §4.6.1)
    0x00000103: ("soosoosooo", False),       # data_sm (§4.7.1)
}


def check_framing(raw: bytes) -> None:
    """Raise ValueError unless every mandatory field and TLV of a deliver_sm / data_sm lies
    inside the PDU and the TLVs end exactly where it ends. smpplib reads past such errors and
    returns an MO made of whatever it found: acknowledged with 0, the real message is lost."""
    known = _MO_LAYOUTS.get(HEADER.unpack_from(raw)[1])
    if known is None:
        return
    layout, short_message = known
    pos = HEADER.size
    for kind in layout:
        if kind == "s":
            end = raw.find(b"\x00", pos)
            if end < 0:
                raise ValueError("a C-octet string runs past the end of the PDU")
            pos = end + 1
        else:
            pos += 1
    if short_message:
        if pos >= len(raw):
            raise ValueError("no sm_length")
        pos += 1 + raw[pos]
    while pos + 4 <= len(raw):
        pos += 4 + int.from_bytes(raw[pos + 2:pos + 4], "big")
    if pos != len(raw):
        raise ValueError("short_message or a TLV runs past the end of the PDU")


def _incoming(pdu: Any, name: str) -> Incoming:
    sar = None
    if pdu.sar_msg_ref_num is not None and pdu.sar_total_segments and pdu.sar_segment_seqnum:
        sar = (int(pdu.sar_msg_ref_num), int(pdu.sar_total_segments), int(pdu.sar_segment_seqnum))
    return Incoming(
        sequence=int(pdu.sequence), command=name,
        source_addr=_text(pdu.source_addr) or "", source_ton=int(pdu.source_addr_ton or 0),
        dest_addr=_text(pdu.destination_addr) or "", esm_class=int(pdu.esm_class or 0),
        data_coding=int(pdu.data_coding or 0),
        short_message=bytes(getattr(pdu, "short_message", None) or b""),
        message_payload=bytes(pdu.message_payload) if pdu.message_payload else None,
        sar=sar, receipted_message_id=_text(pdu.receipted_message_id),
        message_state=None if pdu.message_state is None else int(pdu.message_state))


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.rstrip(b"\x00").decode("latin-1")
    return str(value)


def build(name: str, sequence: int, **fields: object) -> bytes:
    pdu = smpp.make_pdu(name, client=_CLIENT, allow_unknown_opt_params=True, **fields)
    pdu.sequence = sequence  # make_pdu ignores a sequence keyword
    return bytes(pdu.generate())


def response(name: str, sequence: int, status: int = ESME_ROK) -> bytes:
    """The response PDU to a request (generic_nack for a command we do not know)."""
    if name == "generic_nack":
        return HEADER.pack(16, RESPONSE_BIT, status, sequence)
    return build(f"{name}_resp", sequence, status=status)


def describe_status(status: int) -> str:
    return str(consts.DESCRIPTIONS.get(status, "unknown status"))
