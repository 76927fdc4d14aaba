"""msisdn: §7 normalisation, §9.4 legacy conversion, §9.3 operators, log masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsreg import msisdn

CANONICAL = "84905123456"


@pytest.mark.parametrize(
    ("source_addr", "ton"),
    [
        ("84905123456", 1),
        ("84905123456", 0),
        ("84905123456", None),
        ("+84905123456", None),
        ("+84905123456", 2),
        ("0084905123456", 0),
        ("0084905123456", 2),
        ("0905123456", 2),
        ("0905123456", 0),
        ("0905123456", None),
        ("905123456", 2),
        ("905123456", None),
        ("+84 905 123 456", None),
        ("090 512 3456", 2),
    ],
    ids=["84-intl", "84-unknown", "84-none", "plus", "plus-overrides-ton",
         "00-unknown", "00-overrides-ton", "0-national", "0-unknown", "0-none",
         "nsn-national", "nsn-none", "spaces-plus", "spaces-national"],
)  # fmt: skip
def test_row_42_same_phone_in_every_form(source_addr: str, ton: int | None) -> None:
    assert msisdn.normalize(source_addr, ton) == CANONICAL


# §9.4 verbatim: old national prefix → new.
LEGACY = {
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",
    "0167": "037", "0168": "038", "0169": "039", "0120": "070", "0121": "079",
    "0122": "077", "0126": "076", "0128": "078", "0186": "056", "0188": "058",
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0199": "059",
}  # fmt: skip


@pytest.mark.parametrize(("old", "new"), LEGACY.items(), ids=LEGACY.keys())
def test_legacy_11_digit_numbers_convert(old: str, new: str) -> None:
    expected = "84" + new[1:] + "1234567"
    assert msisdn.normalize(old + "1234567") == expected
    assert msisdn.normalize("84" + old[1:] + "1234567") == expected
    assert msisdn.normalize("+84" + old[1:] + "1234567") == expected
    assert msisdn.normalize(old[1:] + "1234567", 2) == expected


@pytest.mark.parametrize(
    ("source_addr", "ton"),
    [
        ("", None),
        ("+", None),
        ("0236123456", 2),
        ("02363123456", None),
        ("0105123456", None),
        ("090512345", None),
        ("09051234567", None),
        ("0905123456", 1),
        ("84905123456", 2),
        ("85905123456", None),
        ("+1 415 555 0100", None),
        ("VIETTEL", 5),
        ("0905-123-456", None),
        ("\u0660\u0669\u0660\u0665\u0661\u0662\u0663\u0664\u0665\u0666", None),
        ("\uff10\uff19\uff10\uff15\uff11\uff12\uff13\uff14\uff15\uff16", None),
        ("01611234567", None),
    ],
    ids=["empty", "plus-only", "landline", "landline-11", "starts-1", "short",
         "long", "intl-ton-national-form", "national-ton-84-form", "other-country",
         "us", "alphanumeric", "dashes", "arabic-indic", "full-width",
         "legacy-prefix-not-in-table"],
)  # fmt: skip
def test_invalid_senders(source_addr: str, ton: int | None) -> None:
    assert msisdn.normalize(source_addr, ton) is None


def test_unknown_prefix_is_still_a_valid_sender() -> None:
    assert msisdn.normalize("0501234567") == "84501234567"
    assert msisdn.operator("84501234567") is None


@given(
    nsn=st.from_regex(r"[35789][0-9]{8}", fullmatch=True),
    form=st.sampled_from(
        [("84{}", None), ("84{}", 0), ("84{}", 1), ("0{}", None), ("0{}", 2),
         ("+84{}", None), ("0084{}", 0), ("{}", None), ("{}", 2), ("+84 {}", 2)]
    ),
)  # fmt: skip
def test_every_form_of_a_number_is_the_same(
    nsn: str, form: tuple[str, int | None]
) -> None:
    pattern, ton = form
    assert msisdn.normalize(pattern.format(nsn), ton) == "84" + nsn


@given(source_addr=st.text(), ton=st.one_of(st.none(), st.integers(-1, 300)))
def test_normalize_never_raises(source_addr: str, ton: int | None) -> None:
    result = msisdn.normalize(source_addr, ton)
    assert result is None or (
        len(result) == 11 and result.isdigit() and result.isascii()
    )


# §9.3 verbatim, national prefixes.
OPERATORS = {
    "viettel": "032 033 034 035 036 037 038 039 086 096 097 098",
    "vinaphone": "081 082 083 084 085 088 091 094",
    "mobifone": "070 076 077 078 079 089 090 093",
    "vietnamobile": "056 058 092 052",
    "gmobile": "059 099",
    "mvno": "087 055",
}


@pytest.mark.parametrize(
    ("prefix", "name"),
    [(p, name) for name, prefixes in OPERATORS.items() for p in prefixes.split()],
)
def test_operator_of_each_prefix(prefix: str, name: str) -> None:
    assert msisdn.operator("84" + prefix[1:] + "1234567") == name
    assert msisdn.operator(prefix + "1234567") == name


@pytest.mark.parametrize("number", ["84301234567", "84711234567", "0236123456", "junk"])
def test_operator_unknown(number: str) -> None:
    assert msisdn.operator(number) is None


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("84905123456", "********456"),
        ("048090012345", "*********345"),
        ("201234567", "******567"),
        ("1234", "*234"),
        ("123", "123"),
        ("", ""),
    ],
    ids=["msisdn", "cccd", "cmnd", "four", "three", "empty"],
)
def test_mask(value: str, masked: str) -> None:
    assert msisdn.mask(value) == masked
