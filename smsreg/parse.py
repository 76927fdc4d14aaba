"""Registration text → Registration or SyntaxFailure (domain.md §5 grammar, §6 checks).

Pure: the caller decodes the MO and supplies today's date in Vietnam.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

from smsreg import text as smstext

# §5: all character classes are ASCII; re.ASCII keeps \s-like shortcuts out too.
KEYWORD = re.compile(r"[Tt][Kk](?=[ ,;])", re.ASCII)
FIELD_SEPARATORS = re.compile(r"[,;]", re.ASCII)
DATE_TOKEN = re.compile(r"([0-9]{1,2})[./-]([0-9]{1,2})[./-]([0-9]{4})", re.ASCII)
NUM_TOKEN = re.compile(r"[0-9]+", re.ASCII)
WORD_TOKEN = re.compile(r"[A-Za-z]+(['-][A-Za-z]+)*", re.ASCII)
VOWELS = frozenset("AEIOUY")
NAME_LABELS = (("HO", "VA", "TEN"), ("HO", "TEN"), ("HOTEN",), ("TEN",))
MIN_NAME_WORDS = 2
MAX_NAME_WORDS = 10
MAX_NAME_CHARS = 70
EARLIEST_BIRTH = datetime.date(1900, 1, 1)
CMND_LENGTH = 9
CCCD_LENGTH = 12

# §9.1: the 63 province codes of birth registration.
PROVINCE_CODES = frozenset({
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015",
    "017", "019", "020", "022", "024", "025", "026", "027", "030", "031",
    "033", "034", "035", "036", "037", "038", "040", "042", "044", "045",
    "046", "048", "049", "051", "052", "054", "056", "058", "060", "062",
    "064", "066", "067", "068", "070", "072", "074", "075", "077", "079",
    "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
    "094", "095", "096",
})  # fmt: skip
# §9.2: century/sex digit → first year of the century. 4-9 are future centuries.
CENTURY_START = {"0": 1900, "1": 1900, "2": 2000, "3": 2000}

REASONS = frozenset(
    {
        "empty",  # nothing left after cleaning
        "no_keyword",  # §5.1
        "bad_token",  # §5.2 step 2: a token that is no DATE, NUM or WORD
        "items",  # §5.2 step 4: not exactly one NAME, one NUM, one DATE
        "name_words",  # §6.1: fewer than 2 or more than 10 words
        "name_length",  # §6.1: canonical name over 70 characters
        "name_vowel",  # §6.1: a word without A E I O U Y
        "name_label",  # §6.1: starts with HO VA TEN, HO TEN, HOTEN, TEN
        "date_invalid",  # §6.2: not a Gregorian date
        "date_range",  # §6.2: before 1900-01-01 or after today
        "under_age",  # §6.2: younger than Rules.min_age
        "id_length",  # §6.3: neither 9 nor 12 digits
        "cmnd9_disabled",  # §11.1: 9-digit numbers switched off
        "id_placeholder",  # §6.3: nine identical digits
        "id_blocked",  # §11.11: in Rules.blocked_id_numbers
        "id_province",  # §6.3 check 1: unknown 3-digit code
        "id_century",  # §6.3 checks 2-3: digit 4 impossible or wrong century
        "id_year",  # §6.3 check 4: digits 5-6 differ from the birth year
        # Never returned here; set by callers so that REASONS names every code.
        "undecodable",  # §11.10: binary or unsupported data_coding
        "incomplete",  # §3.2: concatenated MO parts missing after the timeout
    }
)


@dataclass(frozen=True, slots=True)
class Rules:
    """The `registration` config section (domain.md §11), with the domain defaults.

    strict_id_check governs §6.3 checks 3 and 4 (century and year against the
    date of birth); the province code and digit 4 in 0-3 are always checked.
    """

    accept_cmnd9: bool = True
    min_age: int = 14
    strict_id_check: bool = True
    extra_id_prefixes: frozenset[str] = frozenset()
    blocked_id_numbers: frozenset[str] = frozenset({"201499999"})

    def __post_init__(self) -> None:
        if self.min_age < 0:
            raise ValueError("min_age must not be negative")
        # Values may come from YAML, where 048 without quotes is not a string.
        for prefix in self.extra_id_prefixes:
            if not isinstance(prefix, str) or not re.fullmatch("[0-9]{3}", prefix):
                raise ValueError(f"extra_id_prefixes: {prefix!r} is not 3 digits")
        for number in self.blocked_id_numbers:
            if not isinstance(number, str) or not NUM_TOKEN.fullmatch(number):
                raise ValueError(f"blocked_id_numbers: {number!r} is not digits")


@dataclass(frozen=True, slots=True)
class Registration:
    """A valid registration: canonical name and number, name as typed, birth date."""

    name: str
    name_as_typed: str
    id_number: str
    birth_date: datetime.date


@dataclass(frozen=True, slots=True)
class SyntaxFailure:
    """Why a text is not a valid registration; reason is one of REASONS."""

    reason: str


@dataclass(frozen=True, slots=True)
class _Items:
    """The three items of §5.2 step 4, once there is exactly one of each."""

    name: tuple[str, ...]
    num: str
    date: str


def _kind(token: str) -> str | None:
    """§5.2 step 2 classification, in the spec's order; None for anything else."""
    if DATE_TOKEN.fullmatch(token):
        return "DATE"
    if NUM_TOKEN.fullmatch(token):
        return "NUM"
    if WORD_TOKEN.fullmatch(smstext.fold(token)):
        return "WORD"
    return None


def _field_items(field: str) -> list[tuple[str, list[str]]] | None:
    """Items of one field as (kind, tokens); None on a token of no kind (§5.2)."""
    items: list[tuple[str, list[str]]] = []
    run: list[str] = []
    for token in filter(None, field.split(" ")):
        kind = _kind(token)
        if kind is None:
            return None
        if kind == "WORD":
            run.append(token)
            continue
        if run:
            items.append(("NAME", run))
            run = []
        items.append((kind, [token]))
    if run:
        items.append(("NAME", run))
    return items


def _tokenize(rest: str) -> _Items | SyntaxFailure:
    found: dict[str, list[list[str]]] = {"NAME": [], "NUM": [], "DATE": []}
    # A separator ends a NAME run, so fields are itemised one at a time.
    for field in FIELD_SEPARATORS.split(rest):
        items = _field_items(field)
        if items is None:
            return SyntaxFailure("bad_token")
        for kind, tokens in items:
            found[kind].append(tokens)
    if any(len(found[kind]) != 1 for kind in found):
        return SyntaxFailure("items")
    return _Items(tuple(found["NAME"][0]), found["NUM"][0][0], found["DATE"][0][0])


def _check_name(words: tuple[str, ...]) -> str | SyntaxFailure:
    """Canonical UPPERCASE name of a NAME item, or the §6.1 rule it breaks."""
    canonical = [smstext.fold(word).upper() for word in words]
    if not MIN_NAME_WORDS <= len(canonical) <= MAX_NAME_WORDS:
        return SyntaxFailure("name_words")
    name = " ".join(canonical)
    if len(name) > MAX_NAME_CHARS:
        return SyntaxFailure("name_length")
    if any(VOWELS.isdisjoint(word) for word in canonical):
        return SyntaxFailure("name_vowel")
    if any(tuple(canonical[: len(label)]) == label for label in NAME_LABELS):
        return SyntaxFailure("name_label")
    return name


def _age(birth: datetime.date, today: datetime.date) -> int:
    return (
        today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    )


def _check_date(
    token: str, today: datetime.date, rules: Rules
) -> datetime.date | SyntaxFailure:
    """Birth date of a DATE token (day first), or the §6.2 rule it breaks."""
    match = DATE_TOKEN.fullmatch(token)
    if match is None:  # unreachable: the token was classified as DATE
        return SyntaxFailure("bad_token")
    # int() is safe here: the groups matched [0-9], ASCII digits only.
    day, month, year = (int(group) for group in match.groups())
    try:
        birth = datetime.date(year, month, day)
    except ValueError:
        return SyntaxFailure("date_invalid")
    if not EARLIEST_BIRTH <= birth <= today:
        return SyntaxFailure("date_range")
    if _age(birth, today) < rules.min_age:
        return SyntaxFailure("under_age")
    return birth


def _check_cccd(number: str, birth: datetime.date, rules: Rules) -> str | None:
    """Reason a 12-digit number fails §6.3 checks 1-4, or None."""
    if number[:3] not in PROVINCE_CODES and number[:3] not in rules.extra_id_prefixes:
        return "id_province"
    century = CENTURY_START.get(number[3])
    if century is None:
        return "id_century"
    if rules.strict_id_check:
        if birth.year // 100 != century // 100:
            return "id_century"
        if number[4:6] != f"{birth.year % 100:02d}":
            return "id_year"
    return None


def _check_id(number: str, birth: datetime.date, rules: Rules) -> SyntaxFailure | None:
    """The §6.3 rule a NUM item breaks, or None when it is a valid identity number."""
    if len(number) == CMND_LENGTH:
        if not rules.accept_cmnd9:
            return SyntaxFailure("cmnd9_disabled")
        if len(set(number)) == 1:
            return SyntaxFailure("id_placeholder")
    elif len(number) == CCCD_LENGTH:
        reason = _check_cccd(number, birth, rules)
        if reason is not None:
            return SyntaxFailure(reason)
    else:
        return SyntaxFailure("id_length")
    if number in rules.blocked_id_numbers:
        return SyntaxFailure("id_blocked")
    return None


def parse_registration(
    text: str, today: datetime.date, rules: Rules = Rules()
) -> Registration | SyntaxFailure:
    """Parse and validate a decoded MO text (domain.md §4-§6). Never raises.

    today is the calendar date in Asia/Ho_Chi_Minh when the MO was received.
    Checks run in the §2 order: keyword, tokens and items, name, date, number.
    """
    if isinstance(today, datetime.datetime):
        # A datetime does not compare with a date; its own calendar date is meant.
        today = today.date()
    cleaned = smstext.clean(text)
    if not cleaned:
        return SyntaxFailure("empty")
    if not KEYWORD.match(cleaned):
        return SyntaxFailure("no_keyword")
    items = _tokenize(cleaned[2:])
    if isinstance(items, SyntaxFailure):
        return items
    name = _check_name(items.name)
    if isinstance(name, SyntaxFailure):
        return name
    birth = _check_date(items.date, today, rules)
    if isinstance(birth, SyntaxFailure):
        return birth
    failure = _check_id(items.num, birth, rules)
    if failure is not None:
        return failure
    as_typed = unicodedata.normalize("NFC", " ".join(items.name))
    return Registration(name, as_typed, items.num, birth)
