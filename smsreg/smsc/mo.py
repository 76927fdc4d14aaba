"""Mobile-originated messages: what to send (MoSpec) and the deliver_sm / data_sm bodies for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from smsreg.smsc import fastpath, pdus

Via = Literal["short_message", "message_payload", "udh", "sar"]
VIAS: tuple[str, ...] = ("short_message", "message_payload", "udh", "sar")

# Octets of user data per segment once the 6-byte UDH is in: 153 unpacked GSM septets,
# 67 UCS-2 characters, 134 octets otherwise (SAR segments are cut the same way).
SEGMENT_OCTETS = {0: 153, 8: 134}
DEFAULT_SEGMENT_OCTETS = 134
MAX_SHORT_MESSAGE = 254
_GSM_ESCAPE = 0x1B


@dataclass(frozen=True, slots=True)
class MoSpec:
    """One citizen SMS to deliver to the ESME. Either text (encoded per data_coding) or raw payload."""

    text: str | None = None
    source: str = "84905123456"
    dest: str = "8188"
    data_coding: int = 0
    payload: bytes | None = None  # sent as-is (no encoding); wins over text
    esm_class: int = 0
    source_ton: int = 1
    source_npi: int = 1
    dest_ton: int = 0
    dest_npi: int = 0
    as_data_sm: bool = False  # data_sm instead of deliver_sm (text then always in message_payload)
    via: Via = "short_message"
    parts: int | None = None  # udh/sar: cut into this many segments (None: as many as needed)
    send_parts: tuple[int, ...] | None = None  # udh/sar: 1-based segments to send (None: all)
    reference: int | None = None  # udh/sar reference (None: the simulator picks one)
    ref16: bool = False  # udh: IEI 0x08 with a 16-bit reference instead of IEI 0x00

    def user_data(self) -> bytes:
        """The octets to deliver. Raises ValueError if the text is not representable."""
        if self.payload is not None:
            return self.payload
        if self.text is None:
            raise ValueError("an MO needs text or payload")
        return fastpath.encode_text(self.text, self.data_coding)


def split_payload(payload: bytes, data_coding: int, parts: int | None = None) -> list[bytes]:
    """Cut user data into segments, never inside a UCS-2 code unit or surrogate pair or a GSM escape."""
    size = SEGMENT_OCTETS.get(data_coding, DEFAULT_SEGMENT_OCTETS)
    if parts:
        size = max(1, -(-len(payload) // parts))
        if data_coding == 8:
            size += size % 2
    chunks: list[bytes] = []
    start = 0
    while start < len(payload):
        end = min(start + size, len(payload))
        if end < len(payload):
            end = _safe_cut(payload, start, end, data_coding)
        chunks.append(payload[start:end])
        start = end
    return chunks or [b""]


def _safe_cut(payload: bytes, start: int, end: int, data_coding: int) -> int:
    """Move a cut off the middle of a character: back if the segment stays non-empty, else forward."""
    if data_coding == 8:
        end = max(end - (end - start) % 2, start + 2)
        if 0xD8 <= payload[end - 2] <= 0xDB:  # a high surrogate: keep it with its pair
            end = end - 2 if end - 2 > start else end + 2
    elif data_coding == 0 and payload[end - 1] == _GSM_ESCAPE:  # 0x1B only ever leads an escape
        end = end - 1 if end - 1 > start else end + 1
    return min(end, len(payload))


def udh(reference: int, total: int, seqnum: int, ref16: bool = False) -> bytes:
    """A concatenation UDH: IEI 0x00 (8-bit reference) or 0x08 (16-bit)."""
    if ref16:
        return bytes((6, 0x08, 4, (reference >> 8) & 0xFF, reference & 0xFF, total, seqnum))
    return bytes((5, 0x00, 3, reference & 0xFF, total, seqnum))


def build_pdus(spec: MoSpec, reference: int) -> list[tuple[int, bytes]]:
    """(command_id, body) of every PDU to send for spec. Raises ValueError on impossible specs."""
    if spec.via not in VIAS:
        raise ValueError(f"via must be one of {', '.join(VIAS)}")
    payload = spec.user_data()
    if spec.via in ("short_message", "message_payload"):
        return [_encode(spec, payload, spec.esm_class, {})]
    chunks = split_payload(payload, spec.data_coding, spec.parts)
    total = len(chunks)
    if total > 255:
        raise ValueError(f"{total} segments: more than a concatenated SMS can have")
    out = []
    for seqnum in spec.send_parts or range(1, total + 1):
        if not 1 <= seqnum <= total:
            raise ValueError(f"segment {seqnum} does not exist (1..{total})")
        chunk = chunks[seqnum - 1]
        if spec.via == "udh":
            data = udh(reference, total, seqnum, spec.ref16) + chunk
            out.append(_encode(spec, data, spec.esm_class | pdus.ESM_UDHI, {}))
        else:
            sar: dict[str, int | bytes | str] = {
                "sar_msg_ref_num": reference & 0xFFFF,
                "sar_total_segments": total,
                "sar_segment_seqnum": seqnum,
            }
            out.append(_encode(spec, chunk, spec.esm_class, sar))
    return out


def _encode(spec: MoSpec, data: bytes, esm_class: int, tlvs: dict[str, int | bytes | str]) -> tuple[int, bytes]:
    in_payload_tlv = spec.as_data_sm or spec.via == "message_payload"
    if in_payload_tlv:
        tlvs = {**tlvs, "message_payload": data}
    elif len(data) > MAX_SHORT_MESSAGE:
        raise ValueError(f"{len(data)} octets do not fit short_message; use via='message_payload' or 'udh'")
    elif not tlvs:  # the flood's case: a plain deliver_sm, packed without SmFields
        return pdus.DELIVER_SM, fastpath.mo_body(spec.source, spec.dest, spec.source_ton, spec.source_npi,
                                                 spec.dest_ton, spec.dest_npi, esm_class, spec.data_coding, data)
    fields = pdus.SmFields(
        source=spec.source,
        destination=spec.dest,
        source_ton=spec.source_ton,
        source_npi=spec.source_npi,
        dest_ton=spec.dest_ton,
        dest_npi=spec.dest_npi,
        esm_class=esm_class,
        data_coding=spec.data_coding,
        short_message=b"" if in_payload_tlv else data,
        tlvs=tlvs,
    )
    if spec.as_data_sm:
        return pdus.DATA_SM, pdus.data_sm_body(fields)
    return pdus.DELIVER_SM, pdus.deliver_sm_body(fields)
