"""SMPP 3.4 wire format for the simulator: framing, header-only responses and SM bodies.

smpplib's tables (command codes, TLV codes and sizes, field order) are the reference; the
two PDUs on the benchmark's hot path (deliver_sm out, submit_sm in) also have a struct fast
path that the tests check byte for byte against smpplib's own encoder and parser.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import smpplib.command
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

HEADER = struct.Struct(">LLLL")
HEADER_LEN = 16
# No legal SMPP 3.4 PDU comes near this; past it the stream is garbage, not a big PDU.
MAX_PDU_LEN = 64 * 1024

RESP_BIT = 0x80000000
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015
DATA_SM = 0x00000103

ESME_ROK = 0x00
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64

ESM_UDHI = 0x40
ESM_RECEIPT = 0x04

_TLV_HEAD = struct.Struct(">HH")
_INT_FORMATS = {1: ">B", 2: ">H", 4: ">L"}


class FramingError(Exception):
    """The byte stream does not hold a well-formed SMPP PDU header."""


class MalformedPdu(Exception):
    """A PDU body could not be decoded."""


@dataclass(frozen=True, slots=True)
class SmFields:
    """The fields of a deliver_sm / data_sm the simulator sends (addresses are ASCII)."""

    source: str
    destination: str
    source_ton: int = 1
    source_npi: int = 1
    dest_ton: int = 0
    dest_npi: int = 0
    esm_class: int = 0
    data_coding: int = 0
    short_message: bytes = b""
    tlvs: Mapping[str, int | bytes | str] | None = None


@dataclass(frozen=True, slots=True)
class SubmitFields:
    """What the simulator reads from a submit_sm / data_sm sent by the ESME."""

    source: str
    destination: str
    source_ton: int
    dest_ton: int
    esm_class: int
    registered_delivery: int
    data_coding: int
    short_message: bytes
    message_payload: bytes | None = None
    sar: tuple[int, int, int] | None = None  # (reference, total, seqnum)

    @property
    def user_data(self) -> bytes:
        """The message octets, whichever field carried them."""
        return self.message_payload if self.message_payload else self.short_message


class Framer:
    """Cuts a TCP byte stream into whole PDUs."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the PDUs now complete. Raises FramingError."""
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        pos = 0
        while len(buf) - pos >= 4:
            (length,) = struct.unpack_from(">L", buf, pos)
            if length < HEADER_LEN or length > MAX_PDU_LEN:
                raise FramingError(f"command_length {length} out of range")
            if len(buf) - pos < length:
                break
            frames.append(bytes(buf[pos : pos + length]))
            pos += length
        del buf[:pos]
        return frames


def header(frame: bytes) -> tuple[int, int, int, int]:
    """(command_length, command_id, command_status, sequence_number) of a frame."""
    fields: tuple[int, int, int, int] = HEADER.unpack_from(frame)
    return fields


def pack(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    """A whole PDU: header plus an already encoded body."""
    return HEADER.pack(HEADER_LEN + len(body), command_id, status, sequence) + body


def response(command_id: int, sequence: int, status: int = 0, message_id: str | None = None) -> bytes:
    """A response PDU; message_id (or bind system_id) is sent only with status 0 (SMPP 3.4 §4)."""
    body = b""
    if message_id is not None and status == ESME_ROK:
        body = message_id.encode("ascii") + b"\0"
    return pack(command_id | RESP_BIT, sequence, body, status)


def parse(frame: bytes) -> Any:
    """Decode any PDU with smpplib. Raises MalformedPdu (also for unknown command ids)."""
    try:
        return smpplib.smpp.parse_pdu(frame, allow_unknown_opt_params=True, sequence=0)
    except (smpplib.exceptions.UnknownCommandError, struct.error, IndexError, ValueError) as exc:
        raise MalformedPdu(str(exc)) from exc


def _cstr(value: str) -> bytes:
    return value.encode("latin-1") + b"\0"


def _tlvs(command: Any, tlvs: Mapping[str, int | bytes | str] | None) -> bytes:
    """Encode TLVs in smpplib's params_order, with its sizes, so output matches generate()."""
    if not tlvs:
        return b""
    out = bytearray()
    for name in sorted(tlvs, key=command.params_order.index):
        value = tlvs[name]
        code = smpplib.consts.OPTIONAL_PARAMS[name]
        if isinstance(value, int):
            size = command.params[name].size
            out += _TLV_HEAD.pack(code, size) + struct.pack(_INT_FORMATS[size], value)
        else:
            raw = value.encode("ascii") + b"\0" if isinstance(value, str) else value
            out += _TLV_HEAD.pack(code, len(raw)) + raw
    return bytes(out)


def deliver_sm_body(f: SmFields) -> bytes:
    """The body of a deliver_sm (everything after the header)."""
    return b"".join(
        (
            b"\0",  # service_type
            bytes((f.source_ton, f.source_npi)),
            _cstr(f.source),
            bytes((f.dest_ton, f.dest_npi)),
            _cstr(f.destination),
            bytes((f.esm_class, 0, 0)),  # protocol_id, priority_flag
            b"\0\0",  # schedule_delivery_time, validity_period
            bytes((0, 0, f.data_coding, 0, len(f.short_message))),
            f.short_message,
            _tlvs(smpplib.command.DeliverSM, f.tlvs),
        )
    )


def data_sm_body(f: SmFields) -> bytes:
    """The body of a data_sm; it has no short_message, so the text must be in a TLV."""
    if f.short_message:
        raise ValueError("data_sm carries its text in the message_payload TLV")
    return b"".join(
        (
            b"\0",
            bytes((f.source_ton, f.source_npi)),
            _cstr(f.source),
            bytes((f.dest_ton, f.dest_npi)),
            _cstr(f.destination),
            bytes((f.esm_class, 0, f.data_coding)),  # registered_delivery = 0
            _tlvs(smpplib.command.DataSM, f.tlvs),
        )
    )


def _cut(frame: bytes, pos: int) -> tuple[str, int]:
    end = frame.index(b"\0", pos)
    return frame[pos:end].decode("latin-1"), end + 1


def parse_submit(frame: bytes) -> SubmitFields:
    """Decode a submit_sm (struct fast path) or data_sm (smpplib). Raises MalformedPdu."""
    _, command_id, _, _ = header(frame)
    if command_id == SUBMIT_SM:
        try:
            fields = _fast_submit(frame)
        except (ValueError, IndexError) as exc:
            raise MalformedPdu(str(exc)) from exc
        if fields is not None:
            return fields
    return _from_smpplib(parse(frame))


def _fast_submit(frame: bytes) -> SubmitFields | None:
    """Mandatory fields only; None when TLVs follow (smpplib then decodes the whole PDU)."""
    _, pos = _cut(frame, HEADER_LEN)  # service_type
    source_ton = frame[pos]
    source, pos = _cut(frame, pos + 2)
    dest_ton = frame[pos]
    destination, pos = _cut(frame, pos + 2)
    esm_class = frame[pos]
    _, pos = _cut(frame, pos + 3)  # protocol_id, priority_flag, schedule_delivery_time
    _, pos = _cut(frame, pos)  # validity_period
    registered_delivery, data_coding, sm_length = frame[pos], frame[pos + 2], frame[pos + 4]
    pos += 5
    if pos + sm_length > len(frame):
        raise ValueError(f"sm_length {sm_length} runs past the PDU")
    if pos + sm_length != len(frame):
        return None
    return SubmitFields(
        source, destination, source_ton, dest_ton, esm_class,
        registered_delivery, data_coding, frame[pos : pos + sm_length],
    )  # fmt: skip


def _text(value: bytes | None) -> str:
    return (value or b"").decode("latin-1")


def _from_smpplib(p: Any) -> SubmitFields:
    total = getattr(p, "sar_total_segments", None)
    sar = None
    if total is not None:
        sar = (int(p.sar_msg_ref_num or 0), int(total), int(p.sar_segment_seqnum or 0))
    return SubmitFields(
        source=_text(p.source_addr),
        destination=_text(p.destination_addr),
        source_ton=int(p.source_addr_ton or 0),
        dest_ton=int(p.dest_addr_ton or 0),
        esm_class=int(p.esm_class or 0),
        registered_delivery=int(p.registered_delivery or 0),
        data_coding=int(p.data_coding or 0),
        short_message=bytes(getattr(p, "short_message", None) or b""),
        message_payload=p.message_payload or None,
        sar=sar,
    )
