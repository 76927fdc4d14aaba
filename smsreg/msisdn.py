"""Sender (source_addr) normalisation to 84 + 9-digit NSN (domain.md §7, §9.3, §9.4)."""

from __future__ import annotations

import re

ASCII_DIGITS = re.compile(r"[0-9]+")
TON_INTERNATIONAL = 1
TON_UNKNOWN = 0
COUNTRY_CODE = "84"
NSN_LENGTH = 9
MOBILE_NSN_FIRST = "35789"

# §9.4, keyed by the old NSN prefix (old national prefix without the trunk 0).
LEGACY = {
    "162": "32", "163": "33", "164": "34", "165": "35", "166": "36",
    "167": "37", "168": "38", "169": "39",
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    "186": "56", "188": "58",
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    "199": "59",
}  # fmt: skip

# §9.3, keyed by the first two NSN digits. For statistics only: an unknown
# prefix never invalidates a sender. 052 is listed as allocated later to
# Vietnamobile, unconfirmed; counting it there is harmless.
OPERATORS = {
    **dict.fromkeys(("32", "33", "34", "35", "36", "37", "38", "39"), "viettel"),
    **dict.fromkeys(("86", "96", "97", "98"), "viettel"),
    **dict.fromkeys(("81", "82", "83", "84", "85", "88", "91", "94"), "vinaphone"),
    **dict.fromkeys(("70", "76", "77", "78", "79", "89", "90", "93"), "mobifone"),
    **dict.fromkeys(("52", "56", "58", "92"), "vietnamobile"),
    **dict.fromkeys(("59", "99"), "gmobile"),
    **dict.fromkeys(("87", "55"), "mvno"),
}


def _nsn(digits: str, ton: int | None) -> str | None:
    """The NSN of an all-digit address, or None when it cannot be one (§7)."""
    inferred_international = (
        ton in (TON_UNKNOWN, None)
        and digits.startswith(COUNTRY_CODE)
        and len(digits) in (11, 12)
    )
    if ton == TON_INTERNATIONAL or inferred_international:
        return digits[2:] if digits.startswith(COUNTRY_CODE) else None
    if digits.startswith("0"):
        return digits[1:]
    return digits


def normalize(source_addr: str, ton: int | None = None) -> str | None:
    """Canonical sender "84" + 9-digit NSN, or None for an invalid sender. Never raises.

    ton is source_addr_ton: 1 international, 2 national, 0 or None unknown (the
    form is then inferred from the length). A leading "+" or "00" means
    international whatever ton says. Pre-2018 11-digit numbers are converted.
    """
    s = source_addr.replace(" ", "")
    if s.startswith("+"):
        s, ton = s[1:], TON_INTERNATIONAL
    if s.startswith("00"):
        s, ton = s[2:], TON_INTERNATIONAL
    if not ASCII_DIGITS.fullmatch(s):
        return None
    nsn = _nsn(s, ton)
    if nsn is None:
        return None
    if len(nsn) == NSN_LENGTH + 1 and nsn[:3] in LEGACY:
        nsn = LEGACY[nsn[:3]] + nsn[3:]
    if len(nsn) != NSN_LENGTH or nsn[0] not in MOBILE_NSN_FIRST:
        return None
    return COUNTRY_CODE + nsn


def operator(msisdn: str) -> str | None:
    """Operator name of a sender (any form normalize accepts), for statistics only.

    One of "viettel", "vinaphone", "mobifone", "vietnamobile", "gmobile", "mvno";
    None for an unknown prefix or an invalid number.
    """
    canonical = normalize(msisdn)
    if canonical is None:
        return None
    return OPERATORS.get(canonical[2:4])


def mask(msisdn_or_id: str) -> str:
    """Hide all but the last 3 characters for logs: "84905123456" → "********456"."""
    hidden = max(len(msisdn_or_id) - 3, 0)
    return "*" * hidden + msisdn_or_id[hidden:]
