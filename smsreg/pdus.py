"""SMPP PDUs as plain data: smpplib does the byte layout, nothing untyped leaves this module.

Only the fields smsreg acts on are lifted out of a parsed PDU. Building is done through
smpplib's `make_pdu` with an explicit sequence number, so smpplib's (not thread-safe)
sequence generator is never used. The PDUs of every MO's hot path (deliver_sm and
submit_sm_resp in; submit_sm and the header-only responses out) take a struct fast path
that yields exactly what smpplib would (tests/unit/test_pdu_fastpath.py); anything it does
not recognise goes through smpplib.
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
    fast = _fast_parse(raw)
    return fast if fast is not None else parse_with_smpplib(raw)


def parse_with_smpplib(raw: bytes) -> Incoming | Response | tuple[str, int]:
    """parse() without the fast path (the reference it is tested against)."""
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
    """A whole PDU with this sequence number."""
    if name == "submit_sm":
        fast = _fast_submit_sm(sequence, fields)
        if fast is not None:
            return fast
    elif name in _RESPONSE_BODIES and fields.keys() <= {"status"}:
        status = fields.get("status") or ESME_ROK
        body = _RESPONSE_BODIES[name]
        return HEADER.pack(16 + len(body), command_codes.get_command_code(name), status, sequence) + body
    return build_with_smpplib(name, sequence, **fields)


def build_with_smpplib(name: str, sequence: int, **fields: object) -> bytes:
    """build() without the fast path (the reference it is tested against)."""
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


# ---- the fast path -------------------------------------------------------------------------

_DELIVER_SM = 0x00000005
_SUBMIT_SM_RESP = 0x80000004
_EMPTY_RESPONSES = {0x80000015: "enquire_link_resp", 0x80000006: "unbind_resp"}
# What smpplib generates after the header of these responses (message_id left empty).
_RESPONSE_BODIES = {"deliver_sm_resp": b"\x00", "data_sm_resp": b"\x00", "enquire_link_resp": b"",
                    "unbind_resp": b""}
# deliver_sm TLVs smsreg reads: tag → (field, kind, size); kind i = integer of that size, s =
# C-string (length counts the NUL), o = octets. Tags unknown to smpplib are skipped; any other
# tag sends the PDU through smpplib, which alone decides what it means.
_TLVS = {0x020C: ("sar_msg_ref_num", "i", 2), 0x020E: ("sar_total_segments", "i", 1), 0x020F:
         ("sar_segment_seqnum", "i", 1), 0x0424: ("message_payload", "o", 0), 0x001E:
         ("receipted_message_id", "s", 0), 0x0427: ("message_state", "i", 1)}
_KNOWN_TAGS = frozenset(consts.OPTIONAL_PARAMS.values())
_SUBMIT_FIELDS = frozenset({"source_addr", "source_addr_ton", "source_addr_npi", "destination_addr",
                            "dest_addr_ton", "dest_addr_npi", "esm_class", "data_coding", "short_message",
                            "registered_delivery"})
_SUBMIT_OCTETS = ("source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi", "esm_class",
                  "registered_delivery", "data_coding")
_ADDR_MAX = 21  # smpplib truncates source_addr/destination_addr to max - 1 characters


def _fast_parse(raw: bytes) -> Incoming | Response | None:
    """The common PDUs without smpplib; None means 'let smpplib decide' (never a different answer)."""
    _, command_id, status, seq = HEADER.unpack_from(raw)
    if command_id == _DELIVER_SM:
        try:
            return _fast_deliver(raw, seq)
        except (IndexError, ValueError):
            return None
    if command_id == _SUBMIT_SM_RESP:
        if len(raw) == 16:
            return Response(seq, "submit_sm_resp", status, None)
        end = raw.find(b"\x00", 16)
        if end != len(raw) - 1:
            return None
        return Response(seq, "submit_sm_resp", status, raw[16:end].decode("latin-1"))
    name = _EMPTY_RESPONSES.get(command_id)
    if name is not None and len(raw) == 16:
        return Response(seq, name, status, None)
    return None


def _cut(raw: bytes, pos: int) -> tuple[bytes, int]:
    end = raw.index(b"\x00", pos)
    return raw[pos:end], end + 1


def _fast_deliver(raw: bytes, seq: int) -> Incoming | None:
    _, pos = _cut(raw, 16)                       # service_type
    source_ton = raw[pos]
    source, pos = _cut(raw, pos + 2)
    dest, pos = _cut(raw, pos + 2)
    esm_class = raw[pos]
    _, pos = _cut(raw, pos + 3)                  # schedule_delivery_time
    _, pos = _cut(raw, pos)                      # validity_period
    data_coding, sm_length = raw[pos + 2], raw[pos + 4]
    pos += 5
    if pos + sm_length > len(raw):
        return None
    short_message = raw[pos:pos + sm_length]
    tlvs = _fast_tlvs(raw, pos + sm_length)
    if tlvs is None:
        return None
    ref, total, part = tlvs.get("sar_msg_ref_num"), tlvs.get("sar_total_segments"), tlvs.get("sar_segment_seqnum")
    payload, receipted, state = tlvs.get("message_payload"), tlvs.get("receipted_message_id"), tlvs.get("message_state")
    return Incoming(
        sequence=seq, command="deliver_sm", source_addr=source.decode("latin-1"), source_ton=source_ton,
        dest_addr=dest.decode("latin-1"), esm_class=esm_class, data_coding=data_coding,
        short_message=short_message, message_payload=bytes(payload) if payload else None,
        sar=(int(ref), int(total), int(part)) if ref is not None and total and part else None,
        receipted_message_id=_text(receipted), message_state=None if state is None else int(state))


def _fast_tlvs(raw: bytes, pos: int) -> dict[str, int | bytes] | None:
    found: dict[str, int | bytes] = {}
    while pos < len(raw):
        if pos + 4 > len(raw):
            return None
        tag, length = struct.unpack_from(">HH", raw, pos)
        pos += 4
        if pos + length > len(raw):
            return None
        spec = _TLVS.get(tag)
        if spec is None:
            if tag in _KNOWN_TAGS:
                return None
        elif spec[1] == "i":
            if length != spec[2]:
                return None
            found[spec[0]] = int.from_bytes(raw[pos:pos + length], "big")
        elif spec[1] == "s":
            if length == 0:
                return None
            found[spec[0]] = raw[pos:pos + length - 1]
        else:
            found[spec[0]] = raw[pos:pos + length]
        pos += length
    return found


def _fast_submit_sm(sequence: int, fields: dict[str, object]) -> bytes | None:
    """submit_sm with the fields the sender uses, byte for byte as smpplib generates it."""
    sm = fields.get("short_message") or b""
    octets = [v for v in (_octet(fields.get(k)) for k in _SUBMIT_OCTETS) if v is not None]
    source, dest = _cstring(fields.get("source_addr")), _cstring(fields.get("destination_addr"))
    if (not fields.keys() <= _SUBMIT_FIELDS or not isinstance(sm, bytes) or len(sm) > 254
            or source is None or dest is None or len(octets) != len(_SUBMIT_OCTETS)):
        return None
    ston, snpi, dton, dnpi, esm, registered, coding = octets
    body = b"".join((b"\x00", bytes((ston, snpi)), source, bytes((dton, dnpi)), dest, bytes((esm, 0, 0)),
                     b"\x00\x00", bytes((registered, 0, coding, 0, len(sm))), sm))
    return HEADER.pack(16 + len(body), 0x00000004, ESME_ROK, sequence) + body


def _octet(value: object) -> int | None:
    value = value or 0
    return value if isinstance(value, int) and 0 <= value <= 255 else None


def _cstring(value: object) -> bytes | None:
    if value is None or value == "":
        return b"\x00"
    if not isinstance(value, str):
        return None
    try:
        return value[:_ADDR_MAX - 1].encode("latin-1") + b"\x00"
    except UnicodeEncodeError:
        return None
