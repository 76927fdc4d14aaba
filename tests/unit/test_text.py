"""text: the §4 cleaning steps one by one, idempotence, and §6.1 fold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsreg import text

# §4 step 1: every listed Cf character, plus two more of the category.
FORMAT_CHARS = {
    "zwsp": "\u200b", "zwnj": "\u200c", "zwj": "\u200d", "word-joiner": "\u2060",
    "bom": "\ufeff", "lrm": "\u200e", "rlm": "\u200f", "soft-hyphen": "\u00ad",
    "mongolian-vs": "\u180e", "lre": "\u202a",
}  # fmt: skip
# §4 step 2, verbatim.
APOSTROPHES = {
    "left-single": "\u2018", "right-single": "\u2019", "reversed": "\u201b",
    "modifier": "\u02bc", "modifier-prime": "\u02b9", "grave": "\u0060",
    "acute": "\u00b4", "prime": "\u2032",
}  # fmt: skip


@pytest.mark.parametrize("char", FORMAT_CHARS.values(), ids=FORMAT_CHARS.keys())
def test_step1_removes_format_characters(char: str) -> None:
    assert text.clean(f"T{char}K,{char}An{char}") == "TK,An"


@pytest.mark.parametrize("char", APOSTROPHES.values(), ids=APOSTROPHES.keys())
def test_step2_maps_apostrophe_look_alikes(char: str) -> None:
    assert text.clean(f"H{char}Hen Niê") == "H'Hen Niê"


def test_step2_precedes_nfkc_so_acute_is_not_a_space_and_accent() -> None:
    # NFKC alone would give "H \u0301Hen".
    assert text.clean("H\u00b4Hen") == "H'Hen"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [("Ðào", "Đào"), ("ðức", "đức"), ("\u1d9e", "đ")],
    ids=["capital-eth", "small-eth", "nfkc-gives-eth"],
)
def test_step3_maps_eth_to_d_stroke(raw: str, cleaned: str) -> None:
    assert text.clean(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("ＴＫ，０４８０９００１２３４５", "TK,048090012345"),
        ("Ｎｇｕｙｅｎ\u3000Ｖａｎ", "Nguyen Van"),
        ("１．２／１９９０", "1.2/1990"),
        ("［ＴＫ］", "TK"),
        ("Nguye\u0302\u0303n", "Nguyễn"),
        ("Van\u00a0An", "Van An"),
        ("\ufb01", "fi"),
    ],
    ids=["full-width", "ideographic-space", "full-width-date", "full-width-brackets",
         "nfd-composed", "no-break-space", "ligature"],
)  # fmt: skip
def test_step4_nfkc(raw: str, cleaned: str) -> None:
    assert text.clean(raw) == cleaned


@pytest.mark.parametrize(
    "space",
    [
        "\t",
        "\n",
        "\r\n",
        "\x0b",
        "\x0c",
        "\x85",
        "\u1680",
        "\u2028",
        "\u2029",
        "\u205f",
    ],
    ids=ascii,
)
def test_step5_white_space_becomes_one_space(space: str) -> None:
    assert text.clean(f"{space} TK{space}{space}An {space}") == "TK An"


def test_step5_information_separators_are_not_white_space() -> None:
    # str.isspace() accepts U+001C-U+001F; the White_Space property does not.
    assert text.clean("TK\x1cAn") == "TK\x1cAn"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("[TK,An]", "TK,An"),
        ("(TK,An)", "TK,An"),
        ('"TK,An"', "TK,An"),
        ("'TK,An'", "TK,An"),
        ("“TK,An”", "TK,An"),
        ("[ TK,An ]", "TK,An"),
        ("[TK,An)", "[TK,An)"),
        ("”TK,An“", "”TK,An“"),
        ("[TK,An", "[TK,An"),
        ("TK,An]", "TK,An]"),
        ('"', '"'),
        ("[]", ""),
    ],
    ids=["square", "round", "double", "single", "curly", "inner-spaces", "mismatched",
         "curly-reversed", "open-only", "close-only", "lone-quote", "empty-pair"],
)  # fmt: skip
def test_step6_unwraps_matching_pairs(raw: str, cleaned: str) -> None:
    assert text.clean(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("TK,An.", "TK,An"),
        ("TK,An ; , . ", "TK,An"),
        ("TK,An...", "TK,An"),
        (", ;TK,An", ", ;TK,An"),
        ("TK.An", "TK.An"),
        ("01.02.1990.", "01.02.1990"),
    ],
    ids=["full-stop", "run", "ellipsis", "leading-kept", "inner-kept", "date-stop"],
)
def test_step7_strips_trailing_separators(raw: str, cleaned: str) -> None:
    assert text.clean(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("[TK,An].", "TK,An"),
        ("[[TK,An]]", "TK,An"),
        ('"[TK,An]"', "TK,An"),
        ("(TK,An.)", "TK,An"),
        ("\u2033", ""),
        ("a\u2034b", "a'''b"),
    ],
    ids=["bracket-then-stop", "nested", "quoted-brackets", "stop-inside", "double-prime",
         "triple-prime"],
)  # fmt: skip
def test_steps_repeat_until_nothing_changes(raw: str, cleaned: str) -> None:
    """Decision: §4 is re-applied to its own output, so clean() is idempotent.

    A single pass would leave `[TK,An]` for `[TK,An].` and `'a'''b'`-style
    primes half-mapped; repeating only ever changes such texts.
    """
    assert text.clean(raw) == cleaned


def test_official_example_as_printed() -> None:
    printed = "[TK,Nguyễn Văn A,201499999,20/12/1990]"
    assert text.clean(printed) == "TK,Nguyễn Văn A,201499999,20/12/1990"


def test_deep_nesting_is_linear() -> None:
    depth = 20_000
    assert text.clean("[" * depth + "TK" + "]" * depth + "." * depth) == "TK"


_SPECIAL = st.sampled_from(
    [*FORMAT_CHARS.values(), *APOSTROPHES.values(), "Ð", "ð", "\u1d9e", "\u2033",
     "\u1fef", "\uff40", "\u0149", "[", "]", "(", ")", '"', "'", "“", "”", " ", ".",
     ",", ";", "\t", "\n", "\u3000", "\u00a0", "\u0301", "e", "T", "K", "Ｔ"]
)  # fmt: skip


@given(raw=st.one_of(st.text(), st.lists(_SPECIAL | st.characters()).map("".join)))
def test_clean_is_idempotent(raw: str) -> None:
    once = text.clean(raw)
    assert text.clean(once) == once


@given(raw=st.text())
def test_clean_output_shape(raw: str) -> None:
    cleaned = text.clean(raw)
    assert cleaned == cleaned.strip(" ")
    assert "  " not in cleaned
    assert not cleaned.endswith((".", ",", ";"))


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("nGUYỄN  văn an", "nGUYEN  van an"),
        ("Đặng đức", "Dang duc"),
        ("Nguye\u0302\u0303n", "Nguyen"),
        ("ƠơƯưĂăÂâÊêÔô", "OoUuAaAaEeOo"),
        ("àáảãạ", "aaaaa"),
        ("øßæ", "øßæ"),
        ("Ð", "Ð"),
    ],
    ids=[
        "mixed",
        "d-stroke",
        "nfd",
        "shapes",
        "tones",
        "no-ascii-base",
        "eth-not-folded",
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert text.fold(raw) == folded


# The ASCII fast paths (most MOs are plain ASCII) must be exactly the general steps.
ASCII_TEXT = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=80)


@given(ASCII_TEXT)
def test_ascii_cleaning_is_the_general_cleaning(raw: str) -> None:
    general = " ".join(part for part in text._steps_1_to_4_any(raw).split(" ") if part)
    assert text._steps_1_to_5(raw) == general


@given(ASCII_TEXT)
def test_ascii_folding_is_the_general_folding(raw: str) -> None:
    assert text.fold(raw) == text._fold_any(raw) == raw


@pytest.mark.parametrize("char", "\t\n\x0b\x0c\r`\x1c\x1f\x00")
def test_ascii_characters_the_fast_path_maps_or_keeps(char: str) -> None:
    general = " ".join(part for part in text._steps_1_to_4_any(f"a{char}b").split(" ") if part)
    assert text._steps_1_to_5(f"a{char}b") == general
