"""SMS character encodings: MO user data to text, and reply text to submit_sm parts.

Pure functions only (domain.md §3.1, §8, §9.5); no smpplib, no I/O.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# GSM 03.38 default alphabet, indexed by septet value (3GPP TS 23.038 §6.2.1).
# 0x1B is the escape to the extension table and is never a character of its own.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM_ESCAPE = 0x1B
# Extension table; form feed is included because TS 23.038 defines it, although no
# reply uses it (domain.md §8 lists the nine printable ones).
GSM_EXTENSION = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}  # fmt: skip
_BASIC_CODE = {ch: code for code, ch in enumerate(GSM_BASIC) if code != GSM_ESCAPE}
_EXTENSION_CODE = {ch: code for code, ch in GSM_EXTENSION.items()}

REPLACEMENT = "\ufffd"
# TS 23.038: an escape the receiver does not understand is displayed as a space.
ESCAPE_FALLBACK = " "

DC_GSM = 0
DC_ASCII = 1
DC_LATIN1 = 3
DC_UCS2 = 8
# §3.1: 0xF0-0xF3 and 0x10-0x13 are GSM 7-bit with a message class, 0x18-0x1B UCS-2.
GSM_CODINGS = frozenset({DC_GSM, *range(0x10, 0x14), *range(0xF0, 0xF4)})
UCS2_CODINGS = frozenset({DC_UCS2, *range(0x18, 0x1C)})
DEFAULT_ALPHABETS = frozenset({"gsm", "latin1", "ascii"})
LATIN1_CODECS = frozenset({"latin-1", "cp1252"})

ESM_UDHI = 0x40
SINGLE_SEPTETS = 160
PART_SEPTETS = 153
SINGLE_UNITS = 70
PART_UNITS = 67
MAX_PARTS = 255


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm: data_coding 0 (unpacked GSM septets) or 8 (UTF-16BE)."""

    data_coding: int
    esm_class: int
    short_message: bytes


@dataclass(frozen=True, slots=True)
class Concat:
    """Concatenation info of one MO part (reference is 8- or 16-bit, seq 1-based)."""

    reference: int
    total: int
    seq: int


def _decode_gsm(payload: bytes) -> str:
    """Unpacked GSM septets to text.

    A byte above 0x7F is not a septet; it becomes U+FFFD rather than being masked,
    so a wrongly configured link produces a syntax error instead of a wrong name.
    ESC + unknown code gives the basic character (TS 23.038 §6.2.1.1); ESC ESC and a
    lone ESC (trailing, or before a byte above 0x7F) give a space.
    """
    out: list[str] = []
    i, n = 0, len(payload)
    while i < n:
        byte = payload[i]
        if byte > 0x7F:
            out.append(REPLACEMENT)
        elif byte != GSM_ESCAPE:
            out.append(GSM_BASIC[byte])
        elif i + 1 < n and payload[i + 1] <= 0x7F:
            nxt = payload[i + 1]
            if nxt in GSM_EXTENSION:
                out.append(GSM_EXTENSION[nxt])
            elif nxt == GSM_ESCAPE:
                out.append(ESCAPE_FALLBACK)
            else:
                out.append(GSM_BASIC[nxt])
            i += 1
        else:
            out.append(ESCAPE_FALLBACK)
        i += 1
    return "".join(out)


def _decode_default(payload: bytes, default_alphabet: str) -> str:
    if default_alphabet == "gsm":
        return _decode_gsm(payload)
    if default_alphabet == "latin1":
        return payload.decode("latin-1")
    return payload.decode("ascii", errors="replace")


def decode_mo(
    payload: bytes,
    data_coding: int,
    *,
    default_alphabet: str = "gsm",
    latin1_codec: str = "latin-1",
) -> str | None:
    """Text of an MO's user data (UDH already removed), per domain.md §3.1.

    Returns None for binary or unsupported codings (2, 4, 0xF4-0xF7, anything not
    in the table); the caller answers syntax_error. Never raises for any payload or
    data_coding. Undecodable units become U+FFFD: bytes above 0x7F under GSM or
    ASCII, undefined cp1252 bytes, unpaired UTF-16 surrogates, an odd trailing byte.
    Raises ValueError only for an unknown option name (a configuration bug).
    """
    if default_alphabet not in DEFAULT_ALPHABETS:
        raise ValueError(f"unknown default_alphabet {default_alphabet!r}")
    if latin1_codec not in LATIN1_CODECS:
        raise ValueError(f"unknown latin1_codec {latin1_codec!r}")
    # "As 0" includes the link option: a transcoding SMSC ignores the class bits.
    if data_coding in GSM_CODINGS:
        return _decode_default(payload, default_alphabet)
    if data_coding in UCS2_CODINGS:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding == DC_ASCII:
        return payload.decode("ascii", errors="replace")
    if data_coding == DC_LATIN1:
        return payload.decode(latin1_codec, errors="replace")
    return None


def _encode_gsm(text: str) -> bytes:
    out = bytearray()
    for ch in text:
        if ch in _BASIC_CODE:
            out.append(_BASIC_CODE[ch])
        elif ch in _EXTENSION_CODE:
            out += bytes((GSM_ESCAPE, _EXTENSION_CODE[ch]))
        else:
            raise ValueError(f"U+{ord(ch):04X} is not in the GSM 03.38 alphabet")
    return bytes(out)


def encode_text(text: str, data_coding: int) -> bytes:
    """Encode text for data_coding 0 (unpacked GSM), 1 (ASCII), 3 (Latin-1), 8 (UTF-16BE).

    Raises ValueError when the text cannot be represented or the coding is not one
    of these four.
    """
    try:
        if data_coding == DC_GSM:
            return _encode_gsm(text)
        if data_coding == DC_ASCII:
            return text.encode("ascii")
        if data_coding == DC_LATIN1:
            return text.encode("latin-1")
        if data_coding == DC_UCS2:
            return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise ValueError(f"not representable in data_coding {data_coding}") from exc
    raise ValueError(f"unsupported data_coding {data_coding}")


def is_gsm(text: str) -> bool:
    """True when every character is in the GSM 03.38 basic or extension table."""
    return all(ch in _BASIC_CODE or ch in _EXTENSION_CODE for ch in text)


def _septets(ch: str) -> int:
    if ch in _BASIC_CODE:
        return 1
    if ch in _EXTENSION_CODE:
        return 2
    raise ValueError(f"U+{ord(ch):04X} is not in the GSM 03.38 alphabet")


def gsm_septets(text: str) -> int:
    """Septets needed for text (extension characters count 2); ValueError if not GSM."""
    return sum(_septets(ch) for ch in text)


def _fold_char(ch: str) -> str:
    if ch in "đð":
        return "d"
    if ch in "ĐÐ":
        return "D"
    if is_gsm(ch):
        return ch
    bare = "".join(
        c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn"
    )
    return bare if is_gsm(bare) else "?"


def fold_to_gsm(text: str) -> str:
    """GSM-only text: đ/ð→d, Đ/Ð→D; other non-GSM characters lose their marks, else '?'.

    The text is composed (NFC) first, so a decomposed "è" stays "è", which GSM has.
    is_gsm(fold_to_gsm(s)) holds for every s.
    """
    return "".join(_fold_char(ch) for ch in unicodedata.normalize("NFC", text))


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _chunks(text: str, *, gsm: bool, limit: int) -> list[str]:
    """Split text into runs of at most `limit` units without splitting a character.

    A character is the unit that must stay whole: a GSM escape pair or a UTF-16
    surrogate pair is one character of text, so it never straddles two parts.
    """
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        size = _septets(ch) if gsm else _utf16_units(ch)
        if used + size > limit:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += size
    chunks.append("".join(current))
    return chunks


def split_mt(text: str, *, reference: int) -> list[Part]:
    """Reply text to submit_sm parts: GSM-7 when is_gsm(text), else UCS-2.

    One part without UDH when it fits (160 septets / 70 UTF-16 units); otherwise
    parts of 153 septets / 67 units, each led by UDH 05 00 03 ref total seq, with
    esm_class 0x40. Raises ValueError for more than 255 parts or a lone surrogate.
    """
    gsm = is_gsm(text)
    dc = DC_GSM if gsm else DC_UCS2
    size = gsm_septets(text) if gsm else sum(map(_utf16_units, text))
    if size <= (SINGLE_SEPTETS if gsm else SINGLE_UNITS):
        return [Part(dc, 0, encode_text(text, dc))]
    chunks = _chunks(text, gsm=gsm, limit=PART_SEPTETS if gsm else PART_UNITS)
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"reply needs {len(chunks)} parts, more than {MAX_PARTS}")
    udh = bytes((5, 0x00, 3, reference & 0xFF, len(chunks)))
    return [
        Part(dc, ESM_UDHI, udh + bytes((seq,)) + encode_text(chunk, dc))
        for seq, chunk in enumerate(chunks, start=1)
    ]


def segment_count(text: str) -> int:
    """Number of submit_sm parts split_mt(text) produces."""
    return len(split_mt(text, reference=0))


def _concat_ie(iei: int, data: bytes) -> Concat | None:
    """Concat from one IE, None for another IE; ValueError when malformed."""
    if iei == 0x00:
        if len(data) != 3:
            raise ValueError("8-bit concat IE must have 3 octets")
        concat = Concat(data[0], data[1], data[2])
    elif iei == 0x08:
        if len(data) != 4:
            raise ValueError("16-bit concat IE must have 4 octets")
        concat = Concat((data[0] << 8) | data[1], data[2], data[3])
    else:
        return None
    if concat.total == 0 or not 1 <= concat.seq <= concat.total:
        raise ValueError("concat seq out of range")
    return concat


def _parse_udh(payload: bytes) -> tuple[Concat | None, bytes]:
    udhl = payload[0]
    if 1 + udhl > len(payload):
        raise ValueError("UDH longer than the payload")
    udh, concat, i = payload[1 : 1 + udhl], None, 0
    while i < len(udh):
        if i + 2 > len(udh) or i + 2 + udh[i + 1] > len(udh):
            raise ValueError("information element runs past the UDH")
        found = _concat_ie(udh[i], udh[i + 2 : i + 2 + udh[i + 1]])
        # TS 23.040 §9.2.3.24: of a repeated IE the last occurrence counts.
        concat = found or concat
        i += 2 + udh[i + 1]
    return concat, payload[1 + udhl :]


def split_udh(payload: bytes) -> tuple[Concat | None, bytes]:
    """Split an MO's short_message (esm_class has 0x40) into concat info and user data.

    Concat comes from IEI 0x00 (8-bit reference) or 0x08 (16-bit); other IEs are
    skipped. Never raises: a malformed UDH (empty payload, UDHL or an IE past the
    end, a concat IE of the wrong length or with seq outside 1..total) returns
    (None, b""), which the caller treats as an empty, hence wrong-syntax, message.
    """
    if not payload:
        return None, b""
    try:
        return _parse_udh(payload)
    except ValueError:
        return None, b""
