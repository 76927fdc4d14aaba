"""codec: MO decoding (§3.1), GSM 03.38 tables (§9.5), MT splitting and reply cost (§8)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsreg import codec, config
from tests.unit import strategies

# TS 23.038 default alphabet, written out independently of codec.GSM_BASIC: the
# septets whose character is not the ASCII character of the same value.
GSM_NON_ASCII = {
    0x00: "@", 0x01: "\u00a3", 0x02: "$", 0x03: "\u00a5", 0x04: "\u00e8",
    0x05: "\u00e9", 0x06: "\u00f9", 0x07: "\u00ec", 0x08: "\u00f2", 0x09: "\u00c7",
    0x0A: "\n", 0x0B: "\u00d8", 0x0C: "\u00f8", 0x0D: "\r", 0x0E: "\u00c5",
    0x0F: "\u00e5", 0x10: "\u0394", 0x11: "_", 0x12: "\u03a6", 0x13: "\u0393",
    0x14: "\u039b", 0x15: "\u03a9", 0x16: "\u03a0", 0x17: "\u03a8", 0x18: "\u03a3",
    0x19: "\u0398", 0x1A: "\u039e", 0x1C: "\u00c6", 0x1D: "\u00e6", 0x1E: "\u00df",
    0x1F: "\u00c9", 0x24: "\u00a4", 0x40: "\u00a1", 0x5B: "\u00c4", 0x5C: "\u00d6",
    0x5D: "\u00d1", 0x5E: "\u00dc", 0x5F: "\u00a7", 0x60: "\u00bf", 0x7B: "\u00e4",
    0x7C: "\u00f6", 0x7D: "\u00f1", 0x7E: "\u00fc", 0x7F: "\u00e0",
}  # fmt: skip
GSM_EXTENSION = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}  # fmt: skip
SEPTETS = [b for b in range(0x80) if b != 0x1B]
# §9.5, verbatim.
SECTION_9_5 = (
    "£ ¥ è é ù ì ò Ç Ø ø Å å Δ Φ Γ Λ Ω Π Ψ Σ Θ Ξ Æ æ ß É ¤ ¡ Ä Ö Ñ Ü § ¿ ä ö ñ ü à"
)
REPLACEMENT = "\ufffd"


def _char(septet: int) -> str:
    return GSM_NON_ASCII.get(septet, chr(septet))


@pytest.mark.parametrize("septet", SEPTETS, ids=lambda b: f"0x{b:02X}")
def test_every_basic_septet_decodes_and_encodes(septet: int) -> None:
    assert codec.decode_mo(bytes([septet]), 0) == _char(septet)
    assert codec.encode_text(_char(septet), 0) == bytes([septet])
    assert codec.gsm_septets(_char(septet)) == 1


@pytest.mark.parametrize("char", sorted(GSM_EXTENSION), ids=ascii)
def test_every_extension_character(char: str) -> None:
    escaped = bytes([0x1B, GSM_EXTENSION[char]])
    assert codec.decode_mo(escaped, 0) == char
    assert codec.encode_text(char, 0) == escaped
    assert codec.is_gsm(char)
    assert codec.gsm_septets(char) == 2


def test_section_9_5_lists_exactly_the_non_ascii_basic_characters() -> None:
    listed = set(SECTION_9_5.split())
    non_ascii = {ch for ch in map(_char, SEPTETS) if not ch.isascii()}
    assert listed == non_ascii
    assert all(codec.gsm_septets(ch) == 1 for ch in listed)


def test_ascii_outside_gsm_basic() -> None:
    assert not codec.is_gsm("`")
    assert codec.gsm_septets("^{}\\[~]|€") == 18
    with pytest.raises(ValueError):
        codec.gsm_septets("`")


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (b"TK,H\x08a", "TK,Hòa"),
        (b"Th\x06y", "Thùy"),
        (b"T\x06ng", "Tùng"),
        (b"H\x7f", "Hà"),
        (b"Hi\x05n \x04 \x07 \x1f", "Hién è ì É"),
    ],
    ids=["hoa", "thuy", "tung", "ha", "e-acute-grave-i-E"],
)
def test_vietnamese_letters_in_gsm_basic_arrive_as_dc0(
    payload: bytes, text: str
) -> None:
    assert codec.decode_mo(payload, 0) == text
    assert codec.encode_text(text, 0) == payload


@pytest.mark.parametrize(
    "data_coding",
    [0, 0x10, 0x11, 0x12, 0x13, 0xF0, 0xF1, 0xF2, 0xF3],
    ids=lambda d: f"dc-0x{d:02X}",
)
def test_codings_read_as_gsm(data_coding: int) -> None:
    assert codec.decode_mo(b"\x7f\x1b\x65\x00@", data_coding) == "à€@¡"


@pytest.mark.parametrize(
    "data_coding", [8, 0x18, 0x19, 0x1A, 0x1B], ids=lambda d: f"dc-0x{d:02X}"
)
def test_codings_read_as_ucs2(data_coding: int) -> None:
    assert codec.decode_mo("Đà Nẵng".encode("utf-16-be"), data_coding) == "Đà Nẵng"


@pytest.mark.parametrize(
    "data_coding",
    [2, 4, 5, 6, 7, 9, 0x14, 0x17, 0x1C, 0xF4, 0xF5, 0xF6, 0xF7, 0xFF, -1, 256, 10**9],
    ids=lambda d: f"dc-{d}",
)
def test_binary_or_unsupported_codings_give_no_text(data_coding: int) -> None:
    assert codec.decode_mo(b"TK,Nguyen Van An", data_coding) is None


def test_ascii_and_latin1_codings() -> None:
    assert codec.decode_mo(b"TK,An", 1) == "TK,An"
    assert codec.decode_mo(b"Ho\xe0", 1) == "Ho" + REPLACEMENT
    assert codec.decode_mo(b"Ho\xe0 \x80", 3) == "Hoà \x80"
    assert codec.decode_mo(b"\x80", 3, latin1_codec="cp1252") == "€"
    assert codec.decode_mo(b"\x81", 3, latin1_codec="cp1252") == REPLACEMENT


@pytest.mark.parametrize(
    ("alphabet", "payload", "text"),
    [
        ("gsm", b"\x7f\x00@", "à@¡"),
        ("gsm", b"a\xe0", "a" + REPLACEMENT),
        ("latin1", b"\xe0@", "à@"),
        ("ascii", b"a\xe0", "a" + REPLACEMENT),
        ("ascii", b"@_$", "@_$"),
    ],
    ids=["gsm", "gsm-high-byte", "latin1", "ascii-high-byte", "ascii-not-gsm"],
)
def test_default_alphabet_link_option(alphabet: str, payload: bytes, text: str) -> None:
    assert codec.decode_mo(payload, 0, default_alphabet=alphabet) == text


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (b"a\x1b", "a "),
        (b"\x1b", " "),
        (b"\x1b\x1b", " "),
        (b"\x1b\x1bA", " A"),
        (b"\x1bA", "A"),
        (b"\x1b\xe0", " " + REPLACEMENT),
    ],
    ids=["trailing-esc", "lone-esc", "esc-esc", "esc-esc-then-char", "unknown", "high"],
)
def test_gsm_escape_fallbacks(payload: bytes, text: str) -> None:
    assert codec.decode_mo(payload, 0) == text


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (b"\xd8\x3d\xde\x00", "\U0001f600"),
        (b"\xd8\x3d\x00A", REPLACEMENT + "A"),
        (b"\x00A\xde\x00", "A" + REPLACEMENT),
        (b"\x00A\x00", "A" + REPLACEMENT),
        ("Nguye\u0302\u0303n".encode("utf-16-be"), "Nguye\u0302\u0303n"),
    ],
    ids=["surrogate-pair", "lone-high", "lone-low", "odd-byte", "nfd-kept-for-clean"],
)
def test_ucs2_decoding(payload: bytes, text: str) -> None:
    assert codec.decode_mo(payload, 8) == text


def test_unknown_link_option_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        codec.decode_mo(b"", 0, default_alphabet="utf-8")
    with pytest.raises(ValueError):
        codec.decode_mo(b"", 3, latin1_codec="latin-9")


@given(payload=st.binary(max_size=300), data_coding=st.integers(0, 255))
def test_decode_mo_never_raises(payload: bytes, data_coding: int) -> None:
    decoded = codec.decode_mo(payload, data_coding)
    assert decoded is None or isinstance(decoded, str)


@given(text=st.text(alphabet=strategies.GSM_CHARS))
def test_gsm_round_trip(text: str) -> None:
    encoded = codec.encode_text(text, 0)
    assert codec.decode_mo(encoded, 0) == text
    assert len(encoded) == codec.gsm_septets(text)


@pytest.mark.parametrize(
    ("data_coding", "alphabet"),
    [
        (1, st.characters(max_codepoint=0x7F)),
        (3, st.characters(max_codepoint=0xFF)),
        (8, st.characters(codec="utf-8")),
    ],
    ids=["ascii", "latin1", "ucs2"],
)
@given(data=st.data())
def test_round_trip_other_codings(
    data_coding: int, alphabet: st.SearchStrategy[str], data: st.DataObject
) -> None:
    text = data.draw(st.text(alphabet=alphabet))
    assert codec.decode_mo(codec.encode_text(text, data_coding), data_coding) == text


@pytest.mark.parametrize(
    ("text", "data_coding"),
    [("đ", 0), ("`", 0), ("\x1b", 0), ("é", 1), ("đ", 3), ("\ud800", 8), ("a", 2)],
    ids=[
        "d-stroke-gsm",
        "backtick-gsm",
        "esc-gsm",
        "ascii",
        "latin1",
        "lone-sur",
        "dc2",
    ],
)
def test_encode_text_rejects_unrepresentable(text: str, data_coding: int) -> None:
    with pytest.raises(ValueError):
        codec.encode_text(text, data_coding)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Nguyễn Văn Đức", "Nguyen Van Duc"),
        ("Ðào ðức", "Dào duc"),
        ("è é à ù ì ò É", "è é à ù ì ò É"),
        ("e\u0300", "è"),
        ("ễ ơ ư ă â ê ô", "e o u a a e o"),
        ("H’Hen", "H?Hen"),
        ("😀 中", "? ?"),
        ("{€}", "{€}"),
    ],
    ids=[
        "vietnamese",
        "eth",
        "gsm-letters-kept",
        "nfd-grave",
        "marks",
        "apos",
        "emoji",
        "ext",
    ],
)
def test_fold_to_gsm(text: str, folded: str) -> None:
    assert codec.fold_to_gsm(text) == folded


@given(text=st.text())
def test_fold_to_gsm_output_is_always_gsm(text: str) -> None:
    assert codec.is_gsm(codec.fold_to_gsm(text))


def _user_data(part: codec.Part) -> tuple[codec.Concat | None, bytes]:
    if part.esm_class & 0x40:
        return codec.split_udh(part.short_message)
    return None, part.short_message


@pytest.mark.parametrize(
    ("text", "data_coding", "parts"),
    [
        ("", 0, 1),
        ("a" * 160, 0, 1),
        ("a" * 161, 0, 2),
        ("€" * 80, 0, 1),
        ("€" * 80 + "a", 0, 2),
        ("a" * 153 * 2, 0, 2),
        ("a" * (153 * 2 + 1), 0, 3),
        ("đ" * 70, 8, 1),
        ("đ" * 71, 8, 2),
        ("đ" * 67 * 3, 8, 3),
        ("\U0001f600" * 35, 8, 1),
        ("\U0001f600" * 35 + "a", 8, 2),
    ],
    ids=[
        "empty", "160-septets", "161-septets", "80-euro", "80-euro-plus-1",
        "2x153", "2x153-plus-1", "70-ucs2", "71-ucs2", "3x67", "35-emoji", "35-emoji-plus-1",
    ],
)  # fmt: skip
def test_part_counts(text: str, data_coding: int, parts: int) -> None:
    split = codec.split_mt(text, reference=7)
    assert len(split) == parts == codec.segment_count(text)
    assert {part.data_coding for part in split} == {data_coding}
    assert {part.esm_class for part in split} == {0 if parts == 1 else 0x40}


def test_single_part_has_no_udh() -> None:
    assert codec.split_mt("Cam on!", reference=1) == [codec.Part(0, 0, b"Cam on!")]
    assert codec.split_mt("đ", reference=1) == [codec.Part(8, 0, b"\x01\x11")]


def test_concatenated_udh_bytes_are_exact() -> None:
    parts = codec.split_mt("a" * 200, reference=0x1234)
    assert [p.short_message[:6] for p in parts] == [
        bytes([0x05, 0x00, 0x03, 0x34, 0x02, 0x01]),
        bytes([0x05, 0x00, 0x03, 0x34, 0x02, 0x02]),
    ]
    assert parts[0].short_message[6:] == b"a" * 153
    assert parts[1].short_message[6:] == b"a" * 47


@pytest.mark.parametrize("char", ["€", "{", "\\", "|"], ids=ascii)
def test_escape_at_the_153rd_septet_moves_whole_to_the_next_part(char: str) -> None:
    parts = codec.split_mt("a" * 152 + char + "b" * 20, reference=0)
    first, second = (p.short_message[6:] for p in parts)
    assert first == b"a" * 152
    assert second == codec.encode_text(char + "b" * 20, 0)
    assert second[0] == 0x1B


def test_surrogate_pair_at_the_67th_unit_moves_whole_to_the_next_part() -> None:
    parts = codec.split_mt("đ" * 66 + "\U0001f600" + "b" * 10, reference=0)
    first, second = (p.short_message[6:] for p in parts)
    assert first == ("đ" * 66).encode("utf-16-be")
    assert second == ("\U0001f600" + "b" * 10).encode("utf-16-be")


def test_more_than_255_parts_is_refused() -> None:
    assert codec.segment_count("a" * 153 * 255) == 255
    with pytest.raises(ValueError):
        codec.split_mt("a" * (153 * 255 + 1), reference=0)


def _reassemble(parts: list[codec.Part], reference: int) -> str:
    texts = []
    for seq, part in enumerate(parts, start=1):
        concat, user_data = _user_data(part)
        if len(parts) > 1:
            assert concat == codec.Concat(reference & 0xFF, len(parts), seq)
            limit = 153 if part.data_coding == 0 else 134
        else:
            limit = 160 if part.data_coding == 0 else 140
        assert len(user_data) <= limit
        decoded = codec.decode_mo(user_data, part.data_coding)
        assert decoded is not None
        texts.append(decoded)
    return "".join(texts)


@given(
    text=st.text(alphabet=strategies.GSM_CHARS, max_size=700), ref=st.integers(0, 65535)
)
def test_split_mt_reassembles_gsm_texts(text: str, ref: int) -> None:
    parts = codec.split_mt(text, reference=ref)
    assert {p.data_coding for p in parts} == {0}
    assert _reassemble(parts, ref) == text


@given(text=st.text(max_size=400), ref=st.integers(0, 255))
def test_split_mt_reassembles_any_text(text: str, ref: int) -> None:
    assert _reassemble(codec.split_mt(text, reference=ref), ref) == text


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\x05\x00\x03\x2a\x02\x01TK", (codec.Concat(0x2A, 2, 1), b"TK")),
        (b"\x06\x08\x04\x12\x34\x03\x03TK", (codec.Concat(0x1234, 3, 3), b"TK")),
        (b"\x08\x24\x01\x01\x00\x03\x01\x02\x02x", (codec.Concat(1, 2, 2), b"x")),
        (b"\x03\x24\x01\x01TK", (None, b"TK")),
        (b"\x00TK", (None, b"TK")),
        (b"\x0a\x00\x03\x01\x02\x01\x00\x03\x09\x03\x02x", (codec.Concat(9, 3, 2), b"x")),
    ],
    ids=["iei-00", "iei-08", "other-ie-skipped", "no-concat-ie", "empty-udh", "last-wins"],
)  # fmt: skip
def test_split_udh(payload: bytes, expected: tuple[codec.Concat | None, bytes]) -> None:
    assert codec.split_udh(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x05\x00\x03\x01",
        b"\x05\x00\x09\x01\x02\x01",
        b"\x02\x00",
        b"\x04\x00\x02\x01\x02TK",
        b"\x05\x00\x03\x01\x02\x00TK",
        b"\x05\x00\x03\x01\x02\x03TK",
        b"\x05\x00\x03\x01\x00\x00TK",
        b"\x05\x08\x03\x01\x02\x01TK",
    ],
    ids=[
        "empty", "udhl-past-end", "ie-past-udh", "ie-header-cut", "concat-short",
        "seq-0", "seq-over-total", "total-0", "iei-08-short",
    ],
)  # fmt: skip
def test_malformed_udh_gives_no_concat_and_no_text(payload: bytes) -> None:
    assert codec.split_udh(payload) == (None, b"")


@given(payload=st.binary(max_size=40))
def test_split_udh_never_raises(payload: bytes) -> None:
    concat, rest = codec.split_udh(payload)
    assert len(rest) < max(len(payload), 1)
    assert concat is None or 1 <= concat.seq <= concat.total


# §1 and /work/shared/seed/translation.md, verbatim.
SUCCESS = (
    "TK: {0}, MK: {1} la tai khoan su dung HT Chinh quyen đien tu. "
    "De nghi anh chi doi mat khau trong vong 03 ngay de bao mat. Cam on!"
)
SYNTAX_ERROR = (
    "Loi. Tin nhan sai cu phap. Cu phap dung la: TK,Ho va ten,soCMND,nn.tt.nnnn "
    "(ngay thang nam sinh)"
)
DUPLICATE_ID = (
    "So CMND da duoc su dung de dang ky tai khoan tren he thong Chinh quyen dien tu"
)
DUPLICATE_PHONE = "So dien thoai nay da duoc su dung de dang ky tai khoan tren he thong Chinh quyen dien tu"
# §8: the password alphabet, GSM basic only.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


@pytest.mark.parametrize(
    ("username", "chars", "folded_segments", "raw_segments"),
    [("048090012345", 143, 1, 3), ("201234567", 140, 1, 3)],
    ids=["12-digit-user", "9-digit-user"],
)
def test_success_reply_cost(
    username: str, chars: int, folded_segments: int, raw_segments: int
) -> None:
    reply = SUCCESS.format(username, "Ab3dEf7h")
    assert len(reply) == chars
    assert not codec.is_gsm(reply)
    assert codec.segment_count(reply) == raw_segments
    assert {p.data_coding for p in codec.split_mt(reply, reference=0)} == {8}
    folded = codec.fold_to_gsm(reply)
    assert folded == reply.replace("đ", "d")
    assert codec.segment_count(folded) == folded_segments
    assert codec.split_mt(folded, reference=0)[0].data_coding == 0


def test_success_fixed_part_leaves_room_for_37_characters() -> None:
    fixed = codec.fold_to_gsm(SUCCESS.format("", ""))
    assert codec.gsm_septets(fixed) == 123
    assert (
        codec.segment_count(codec.fold_to_gsm(SUCCESS.format("0" * 29, "a" * 8))) == 1
    )
    assert (
        codec.segment_count(codec.fold_to_gsm(SUCCESS.format("0" * 30, "a" * 8))) == 2
    )


@pytest.mark.parametrize(
    ("reply", "chars"),
    [(SYNTAX_ERROR, 96), (DUPLICATE_ID, 78), (DUPLICATE_PHONE, 88)],
    ids=["syntax-error", "duplicate-id", "duplicate-phone"],
)
def test_fixed_replies_are_one_gsm_segment(reply: str, chars: int) -> None:
    assert len(reply) == chars
    assert codec.is_gsm(reply)
    assert codec.split_mt(reply, reference=0) == [
        codec.Part(0, 0, reply.encode("ascii"))
    ]


def test_project_default_replies_stay_one_segment_when_folded() -> None:
    defaults = config.RepliesConfig()
    assert defaults.success == SUCCESS
    for field in dataclasses.fields(defaults):
        template = getattr(defaults, field.name)
        if isinstance(template, str):
            worst = template.replace("{0}", "0" * 12).replace("{1}", "A" * 8)
            assert codec.segment_count(codec.fold_to_gsm(worst)) == 1, field.name


def test_password_alphabet_is_gsm_basic_without_at_sign() -> None:
    assert codec.gsm_septets(PASSWORD_ALPHABET) == len(PASSWORD_ALPHABET)
    assert "@" not in PASSWORD_ALPHABET
