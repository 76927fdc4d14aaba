"""parse: every parsing row of domain.md §10, the §5/§6 examples, §11 rules, properties.

Rows 38-40 and 42-43 (uniqueness, phone forms) belong to the registration layer
and msisdn tests. Row 41 ("a malformed message from a registered phone is
rejected: parsing precedes uniqueness") holds by construction here:
parse_registration takes no phone and no database, so its verdict cannot depend
on who sent the text.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsreg import codec, parse
from tests.unit import strategies

TODAY = strategies.TODAY
NAME, CCCD, DOB = "Nguyen Van An", "048090012345", "01.02.1990"
BASE = f"TK,{NAME},{CCCD},{DOB}"
EXPECTED = parse.Registration(
    "NGUYEN VAN AN", "Nguyen Van An", CCCD, datetime.date(1990, 2, 1)
)


def _parse(
    text: str, rules: parse.Rules | None = None
) -> parse.Registration | parse.SyntaxFailure:
    return parse.parse_registration(text, TODAY, rules or parse.Rules())


def _accepted(text: str, rules: parse.Rules | None = None) -> parse.Registration:
    result = _parse(text, rules)
    assert isinstance(result, parse.Registration), result
    return result


def _reason(text: str, rules: parse.Rules | None = None) -> str:
    result = _parse(text, rules)
    assert isinstance(result, parse.SyntaxFailure), result
    assert result.reason in parse.REASONS
    return result.reason


# Texts that must give EXPECTED's name, number and date (§10 "A" rows about the
# message shape). Each id starts with its §10 row.
SAME_AS_BASE = {
    "r01-tk-lower": f"tk,{NAME},{CCCD},{DOB}",
    "r01-Tk": f"Tk,{NAME},{CCCD},{DOB}",
    "r01-tK": f"tK;{NAME};{CCCD};{DOB}",
    "r02-space-after-tk": f"TK {NAME},{CCCD},{DOB}",
    "r02-space-comma": f"TK , {NAME} , {CCCD} , {DOB}",
    "r06-square": f"[{BASE}]",
    "r06-round": f"({BASE})",
    "r06-double-quotes": f'"{BASE}"',
    "r06-curly-quotes": f"“{BASE}”",
    "r06-single-quotes": f"'{BASE}'",
    "r07-outer-spaces": f"   {BASE}  ",
    "r07-multiple-spaces": f"TK,  Nguyen   Van  An ,  {CCCD},   {DOB}",
    "r07-tabs-newlines": f"TK,\tNguyen\tVan An\r\n{CCCD}\n{DOB}\n",
    "r07-unicode-spaces": f"TK,Nguyen\u00a0Van\u2003An,{CCCD}\u3000{DOB}",
    "r08-doubled-commas": f"TK,,{NAME},,{CCCD},,{DOB}",
    "r08-doubled-semicolons": f"TK;;{NAME};;{CCCD};;{DOB}",
    "r08-comma-space-semicolon": f"TK, ;{NAME}, ;{CCCD} ; ,{DOB}",
    "r08-mixed": f"TK;{NAME},{CCCD};{DOB}",
    "r09-trailing-separator": f"{BASE},",
    "r09-trailing-full-stop": f"{BASE}.",
    "r09-trailing-run": f"{BASE} ; . ,",
    "r10-spaces-only": f"TK {NAME} {CCCD} {DOB}",
    "r10-one-separator-missing": f"TK,{NAME} {CCCD},{DOB}",
    "r11-number-date-swapped": f"TK,{NAME},{DOB},{CCCD}",
    "r11-name-last": f"TK,{CCCD},{DOB},{NAME}",
    "r11-date-first": f"TK {DOB} {NAME} {CCCD}",
    "r24-dashes": f"TK,{NAME},{CCCD},01-02-1990",
    "r24-slashes": f"TK,{NAME},{CCCD},01/02/1990",
    "r24-mixed-separators": f"TK,{NAME},{CCCD},01/02-1990",
    "r24-one-digit": f"TK,{NAME},{CCCD},1.2.1990",
    "r37-full-width": "ＴＫ，Ｎｇｕｙｅｎ　Ｖａｎ　Ａｎ，０４８０９００１２３４５，０１．０２．１９９０",
    "r37-full-width-digits-only": f"TK,{NAME},０４８０９００１２３４５,０１/０２/１９９０",
    "s4-zero-width": f"T\u200bK,\ufeffNguyen Va\u00adn An,{CCCD}\u2060,{DOB}\u200e",
    "s4-bracket-then-full-stop": f"[{BASE}].",
    "s51-comma-comma": f"TK,,{NAME},{CCCD},{DOB}",
}


@pytest.mark.parametrize("text", SAME_AS_BASE.values(), ids=SAME_AS_BASE.keys())
def test_accepted_shapes_give_the_same_registration(text: str) -> None:
    result = _accepted(text)
    assert (result.name, result.id_number, result.birth_date) == (
        EXPECTED.name,
        EXPECTED.id_number,
        EXPECTED.birth_date,
    )


def test_base_registration_exactly() -> None:
    assert _parse(BASE) == EXPECTED


# §10 "R" rows and the §5 examples: (text, reason).
REJECTED = {
    "r03-glued": (f"TK{NAME},{CCCD},{DOB}", "no_keyword"),
    "r04-dot": (f"TK.{NAME},{CCCD},{DOB}", "no_keyword"),
    "r04-colon": (f"TK:{NAME},{CCCD},{DOB}", "no_keyword"),
    "r04-slash": (f"TK/{NAME},{CCCD},{DOB}", "no_keyword"),
    "r04-dash": (f"TK-{NAME},{CCCD},{DOB}", "no_keyword"),
    "r04-plus": (f"TK+{NAME},{CCCD},{DOB}", "no_keyword"),
    "r05-missing": (f"{NAME},{CCCD},{DOB}", "no_keyword"),
    "r05-other-keyword": (f"DK,{NAME},{CCCD},{DOB}", "no_keyword"),
    "r05-taikhoan": (f"TAIKHOAN,{NAME},{CCCD},{DOB}", "no_keyword"),
    "r05-question": ("Dang ky tai khoan the nao?", "no_keyword"),
    "r05-hd": ("HD", "no_keyword"),
    "r05-spaced-keyword": (f"T K,{NAME},{CCCD},{DOB}", "no_keyword"),
    "r12-address": (f"{BASE},Hai Chau", "items"),
    "r12-phone": (f"{BASE},0905123456", "items"),
    "r12-sex": (f"{BASE},Nam", "items"),
    "r12-cam-on": (f"{BASE}. cam on", "bad_token"),
    "r12-cam-on-field": (f"{BASE},cam on", "items"),
    "r12-particle": (f"{BASE} ạ", "items"),
    "r12-second-id": (f"{BASE},201234567", "items"),
    "r13-missing-date": (f"TK,{NAME},{CCCD}", "items"),
    "r13-missing-name": (f"TK,{CCCD},{DOB}", "items"),
    "r13-missing-number": (f"TK,{NAME},{DOB}", "items"),
    "r13-keyword-only": ("TK", "no_keyword"),
    "r13-keyword-separator": ("TK , ;", "no_keyword"),
    "r13-keyword-space-separator": ("TK ;x", "items"),
    "r13-empty": ("", "empty"),
    "r13-blank": (" \t\n ", "empty"),
    "r13-separators-only": (",;,", "empty"),
    "r14-name-split": (f"TK,Nguyen,Van An,{CCCD},{DOB}", "items"),
    "r14-name-split-semicolon": (f"TK;Nguyen Van;An;{CCCD};{DOB}", "items"),
    "r18-vni": (f"TK,Nguye6n Van An,{CCCD},{DOB}", "bad_token"),
    "r18-digit": (f"TK,Hung2 Nguyen,{CCCD},{DOB}", "bad_token"),
    "r23-abbreviation": (f"TK,Nguyen V. An,{CCCD},{DOB}", "bad_token"),
    "r23-abbreviation-last": (f"TK,Nguyen Van An.,{CCCD},{DOB}", "bad_token"),
    "r23-underscore": (f"TK,Nguyen_Van An,{CCCD},{DOB}", "bad_token"),
    "r23-at": (f"TK,Nguyen@Van An,{CCCD},{DOB}", "bad_token"),
    "r23-emoji": (f"TK,Nguyen Van An 😀,{CCCD},{DOB}", "bad_token"),
    "r23-han": (f"TK,阮文安,{CCCD},{DOB}", "bad_token"),
    "r23-cyrillic": (f"TK,Нгуен Ван Ан,{CCCD},{DOB}", "bad_token"),
    "r23-o-slash": (f"TK,Bjørn Van,{CCCD},{DOB}", "bad_token"),
    "r23-sharp-s": (f"TK,Straße Van,{CCCD},{DOB}", "bad_token"),
    "r23-ae": (f"TK,Æsa Van,{CCCD},{DOB}", "bad_token"),
    "r23-label-colon": (f"TK,ten: {NAME},{CCCD},{DOB}", "bad_token"),
    "r25-two-digit-year": (f"TK,{NAME},{CCCD},01.02.90", "bad_token"),
    "r26-iso": (f"TK,{NAME},{CCCD},1990-02-01", "bad_token"),
    "r27-no-separators": (f"TK,{NAME},{CCCD},01021990", "items"),
    "r28-spaces-in-date": (f"TK,{NAME},{CCCD},01 02 1990", "items"),
    "r28-commas-in-date": (f"TK,{NAME},{CCCD},01,02,1990", "items"),
    "r28-semicolons-in-date": (f"TK,{NAME},{CCCD},01;02;1990", "items"),
    "r28-space-after-dot": (f"TK,{NAME},{CCCD},01. 02.1990", "bad_token"),
    "s62-three-digit-year": (f"TK,{NAME},{CCCD},01.02.990", "bad_token"),
    "s62-five-digit-year": (f"TK,{NAME},{CCCD},01.02.19900", "bad_token"),
    "s62-month-name": (f"TK,{NAME},{CCCD},01 Feb 1990", "items"),
    "r36-spaces-in-number": (f"TK,{NAME},048 090 012345,{DOB}", "items"),
    "r36-joined-groups": (f"TK,{NAME},201234567 123,{DOB}", "items"),
    "r36-dots-in-number": (f"TK,{NAME},201.234.567,{DOB}", "bad_token"),
    "r36-dashes-in-number": (f"TK,{NAME},048-090-012345,{DOB}", "bad_token"),
    "r36-letter-o": (f"TK,{NAME},2O1234567,{DOB}", "bad_token"),
    "r36-passport": (f"TK,{NAME},C1234567,{DOB}", "bad_token"),
    "r36-cccd-label": (f"TK,{NAME},CCCD048090012345,{DOB}", "bad_token"),
    "s4-arabic-indic-digits": (f"TK,{NAME},٠٤٨٠٩٠٠١٢٣٤٥,{DOB}", "bad_token"),
    "s4-devanagari-digits": (f"TK,{NAME},{CCCD},०१.०२.१९९०", "bad_token"),
}


@pytest.mark.parametrize(("text", "reason"), REJECTED.values(), ids=REJECTED.keys())
def test_rejected_shapes(text: str, reason: str) -> None:
    assert _reason(text) == reason


@pytest.mark.parametrize(
    "prefix",
    ["tk,", "Tk;", "TK ", "TK , ", "TK,,"],
    ids=["tk-comma", "Tk-semicolon", "space", "space-comma-space", "double-comma"],
)
def test_section_5_1_keyword_forms_accepted(prefix: str) -> None:
    assert _accepted(f"{prefix}{NAME},{CCCD},{DOB}").name == "NGUYEN VAN AN"


@pytest.mark.parametrize(
    "token",
    ["An.", "V.", "Hung2", "Nguye6n", "2O1234567", "201.234.567", "048-090-012345",
     "01.01.90", "1990-01-01", "Nguyen_Van", "CCCD048090012345", "😀", "安", "ten:"],
)  # fmt: skip
def test_section_5_2_example_tokens_are_bad(token: str) -> None:
    # Inside the text: at the very end, §4 step 7 would strip the full stop of "An.".
    assert _reason(f"TK,{token},{NAME},{CCCD},{DOB}") == "bad_token"


# §6.1 names, §10 rows 15-23: (name as typed, canonical name or failure reason).
NAMES = {
    "r15-lower": ("nguyen van an", "NGUYEN VAN AN"),
    "r15-upper": ("NGUYEN VAN AN", "NGUYEN VAN AN"),
    "s61-mixed-case-diacritics": ("nGUYỄN  văn an", "NGUYEN VAN AN"),
    "r16-nfc": ("Nguyễn Văn Ân", "NGUYEN VAN AN"),
    "r16-nfd": ("Nguye\u0302\u0303n Va\u0306n A\u0302n", "NGUYEN VAN AN"),
    "r16-d-stroke": ("Đặng Văn Đức", "DANG VAN DUC"),
    "r16-eth": ("Ðặng Thị Ðào ðức", "DANG THI DAO DUC"),
    "r17-telex": ("Nguyeenx Vawn Haf", "NGUYEENX VAWN HAF"),
    "r19-apostrophe": ("H'Hen Niê", "H'HEN NIE"),
    "r19-smart-apostrophe": ("H’Hen Niê", "H'HEN NIE"),
    "r19-modifier-apostrophe": ("Hʼhen Niê", "H'HEN NIE"),
    "r19-hyphen": ("Y-Khun Mlo", "Y-KHUN MLO"),
    "s61-ethnic": ("Ksor H'Bla", "KSOR H'BLA"),
    "s61-single-letter-a": ("Nguyen Van A", "NGUYEN VAN A"),
    "s61-single-letter-y": ("Tran Thi Y", "TRAN THI Y"),
    "s61-longest": ("Công Tằng Tôn Nữ Thị Bích Ngọc", "CONG TANG TON NU THI BICH NGOC"),
    "s61-ho-surname": ("Hồ Văn Tèo", "HO VAN TEO"),
    "s61-ten-inside": ("Nguyen Ten", "NGUYEN TEN"),
    "r20-ten-words": (" ".join(["An"] * 10), " ".join(["AN"] * 10)),
    "r20-70-chars": ("Nguyenx " * 8 + "Nguyen", "NGUYENX " * 8 + "NGUYEN"),
    "r20-one-word": ("Nguyen", "name_words"),
    "r20-eleven-words": (" ".join(["An"] * 11), "name_words"),
    "r20-71-chars": ("Nguyenx " * 8 + "Nguyena", "name_length"),
    "r21-cmnd": ("Nguyen Van An CMND", "name_vowel"),
    "r21-ns": ("NS Nguyen Van An", "name_vowel"),
    "r21-sdt": ("Nguyen Van An sdt", "name_vowel"),
    "r21-typo": ("Hng Van An", "name_vowel"),
    "r22-ho-ten": ("Ho ten Nguyen Van An", "name_label"),
    "r22-ho-va-ten": ("Họ và tên Nguyễn Văn An", "name_label"),
    "r22-hoten": ("Hoten Nguyen Van An", "name_label"),
    "r22-ten": ("Ten Nguyen Van An", "name_label"),
}


@pytest.mark.parametrize(("typed", "expected"), NAMES.values(), ids=NAMES.keys())
def test_names(typed: str, expected: str) -> None:
    text = f"TK,{typed},{CCCD},{DOB}"
    if expected in parse.REASONS:
        assert _reason(text) == expected
    else:
        assert _accepted(text).name == expected
        assert len(expected) <= 70


def test_name_as_typed_is_cleaned_nfc_with_diacritics() -> None:
    nfd = "nGUYE\u0302\u0303N \t va\u0306n  an"
    assert _accepted(f"TK,{nfd},{CCCD},{DOB}").name_as_typed == "nGUYỄN văn an"
    assert _accepted(f"TK,Ðào Thị H’Hen,{CCCD},{DOB}").name_as_typed == "Đào Thị H'Hen"


def test_longest_real_name_fits_one_ucs2_segment_and_parses() -> None:
    text = "TK,Công Tằng Tôn Nữ Thị Bích Ngọc,046197056786,09.09.1997"
    assert len(text) == 57
    result = _accepted(text)
    assert (result.id_number, result.birth_date) == (
        "046197056786",
        datetime.date(1997, 9, 9),
    )


# §6.2 dates, §10 rows 24 and 29-31: (date as typed, ISO date or failure reason).
DATES = {
    "r24-dd-mm-yyyy-dashes": ("07-08-1980", "1980-08-07"),
    "r24-mixed": ("07.08/1980", "1980-08-07"),
    "r24-one-digit": ("5.6.1988", "1988-06-05"),
    "s62-day-first": ("12/11/1990", "1990-11-12"),
    "s62-leap-day": ("29.02.2000", "2000-02-29"),
    "s62-earliest": ("01.01.1900", "1900-01-01"),
    "r29-31-feb": ("31/02/1990", "date_invalid"),
    "r29-29-feb-1990": ("29/02/1990", "date_invalid"),
    "r29-29-feb-1900": ("29/02/1900", "date_invalid"),
    "r29-31-apr": ("31/04/1990", "date_invalid"),
    "r29-31-nov": ("31/11/1990", "date_invalid"),
    "r29-day-0": ("00/01/1990", "date_invalid"),
    "r29-month-0": ("01/00/1990", "date_invalid"),
    "r29-month-13": ("01/13/1990", "date_invalid"),
    "r29-us-order": ("12/25/1990", "date_invalid"),
    "r29-year-0": ("01.01.0000", "date_invalid"),
    "r30-before-1900": ("31.12.1899", "date_range"),
    "r30-future": ("16.06.2025", "date_range"),
    "r30-far-future": ("01.01.2099", "date_range"),
    "r31-under-14": ("16.06.2011", "under_age"),
    "r31-born-today": ("15.06.2025", "under_age"),
    "r31-exactly-14": ("15.06.2011", "2011-06-15"),
}


def _matching_cccd(day_month_year: str) -> str:
    """A valid 12-digit number for the year of a date (so only the date is tested)."""
    year = day_month_year[-4:]
    return f"048{0 if year < '2000' else 2}{year[2:]}012345"


@pytest.mark.parametrize(("typed", "expected"), DATES.values(), ids=DATES.keys())
def test_dates(typed: str, expected: str) -> None:
    text = f"TK,{NAME},{_matching_cccd(typed)},{typed}"
    if expected in parse.REASONS:
        assert _reason(text) == expected
    else:
        assert _accepted(text).birth_date == datetime.date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("today", "outcome"),
    [
        (datetime.date(2022, 2, 28), "under_age"),
        (datetime.date(2022, 3, 1), "ok"),
        (datetime.date(2024, 2, 28), "ok"),
    ],
    ids=["non-leap-28-feb", "non-leap-1-mar", "leap-year-after-birthday"],
)
def test_29_february_birthday_turns_14_on_1_march(
    today: datetime.date, outcome: str
) -> None:
    result = parse.parse_registration(f"TK,{NAME},048308012345,29.02.2008", today)
    if outcome == "ok":
        assert isinstance(result, parse.Registration)
    else:
        assert result == parse.SyntaxFailure(outcome)


@pytest.mark.parametrize(
    ("min_age", "dob", "outcome"),
    [
        (18, "15.06.2007", "ok"),
        (18, "16.06.2007", "under_age"),
        (0, "15.06.2025", "ok"),
    ],
    ids=["18-exact", "18-one-day-short", "0-born-today"],
)
def test_min_age_is_configurable(min_age: int, dob: str, outcome: str) -> None:
    result = _parse(
        f"TK,{NAME},{_matching_cccd(dob)},{dob}", parse.Rules(min_age=min_age)
    )
    assert isinstance(result, parse.Registration) == (outcome == "ok"), result


def test_today_given_as_datetime_uses_its_date() -> None:
    moment = datetime.datetime(2025, 6, 15, 23, 59)
    result = parse.parse_registration(f"TK,{NAME},048211012345,15.06.2011", moment)
    assert isinstance(result, parse.Registration)


# §6.3 identity numbers, §10 rows 32-36 and §9.1: (number, date, failure reason or "ok").
IDS = {
    "r32-cmnd9": ("201234567", DOB, "ok"),
    "r32-cmnd9-leading-zero": ("012345678", DOB, "ok"),
    "r32-official-example": ("201499999", "20/12/1990", "id_blocked"),
    "r32-all-zero": ("000000000", DOB, "id_placeholder"),
    "r32-all-one": ("111111111", DOB, "id_placeholder"),
    "r32-all-nine": ("999999999", DOB, "id_placeholder"),
    "r33-da-nang-male-1990": ("048090012345", "01.02.1990", "ok"),
    "r33-female-1900s": ("001185012345", "01.02.1985", "ok"),
    "r33-male-2000s": ("079205012345", "01.02.2005", "ok"),
    "r33-female-2000s": ("096300012345", "01.02.2000", "ok"),
    "r33-born-1900": ("001000012345", "01.01.1900", "ok"),
    "r34-code-000": ("000090012345", DOB, "id_province"),
    "r34-code-003": ("003090012345", DOB, "id_province"),
    "r34-code-090": ("090090012345", DOB, "id_province"),
    "r34-code-097": ("097090012345", DOB, "id_province"),
    "r34-code-100": ("100090012345", DOB, "id_province"),
    "r34-code-999": ("999090012345", DOB, "id_province"),
    "r34-century-4": ("048490012345", DOB, "id_century"),
    "r34-century-9": ("048990012345", DOB, "id_century"),
    "r34-1900s-digit-for-2000s": ("048005012345", "01.02.2005", "id_century"),
    "r34-2000s-digit-for-1990": ("048290012345", DOB, "id_century"),
    "r34-year-mismatch": ("048091012345", DOB, "id_year"),
    "r34-year-swapped": ("048009012345", DOB, "id_year"),
    "r35-8-digits": ("20123456", DOB, "id_length"),
    "r35-10-digits": ("0905123456", DOB, "id_length"),
    "r35-11-digits": ("48090012345", DOB, "id_length"),
    "r35-13-digits": ("0480900123456", DOB, "id_length"),
    "r35-1-digit": ("7", DOB, "id_length"),
    "s63-12-identical": ("000000000000", DOB, "id_province"),
}


@pytest.mark.parametrize(("number", "dob", "expected"), IDS.values(), ids=IDS.keys())
def test_identity_numbers(number: str, dob: str, expected: str) -> None:
    text = f"TK,{NAME},{number},{dob}"
    if expected == "ok":
        assert _accepted(text).id_number == number
    else:
        assert _reason(text) == expected


def test_all_63_province_codes_and_only_those() -> None:
    assert len(parse.PROVINCE_CODES) == 63
    for code in (f"{n:03d}" for n in range(1000)):
        verdict = _parse(f"TK,{NAME},{code}090012345,{DOB}")
        assert isinstance(verdict, parse.Registration) == (code in parse.PROVINCE_CODES)
    assert {"001", "048", "049", "079", "096"} <= parse.PROVINCE_CODES
    missing = (
        "003 005 007 009 013 016 018 021 023 028 029 032 039 041 043 047 050 053 055 "
    )
    missing += "057 059 061 063 065 069 071 073 076 078 081 085 088 090 000 097"
    assert parse.PROVINCE_CODES.isdisjoint(missing.split())
    assert max(parse.PROVINCE_CODES) == "096"


def test_official_example_is_refused_but_another_number_accepted() -> None:
    assert _reason("[TK,Nguyễn Văn A,201499999,20/12/1990]") == "id_blocked"
    result = _accepted("[TK,Nguyễn Văn A,201499998,20/12/1990]")
    assert result == parse.Registration(
        "NGUYEN VAN A", "Nguyễn Văn A", "201499998", datetime.date(1990, 12, 20)
    )


# §11 configuration: (rules, number, date, failure reason or "ok").
RULES = {
    "cmnd9-off": (parse.Rules(accept_cmnd9=False), "201234567", DOB, "cmnd9_disabled"),
    "cmnd9-off-12-ok": (parse.Rules(accept_cmnd9=False), CCCD, DOB, "ok"),
    "lax-century": (parse.Rules(strict_id_check=False), "048290012345", DOB, "ok"),
    "lax-year": (parse.Rules(strict_id_check=False), "048091012345", DOB, "ok"),
    "lax-still-checks-digit-4": (parse.Rules(strict_id_check=False), "048490012345", DOB, "id_century"),
    "lax-still-checks-province": (parse.Rules(strict_id_check=False), "003090012345", DOB, "id_province"),
    "extra-prefix": (parse.Rules(extra_id_prefixes=frozenset({"400"})), "400090012345", DOB, "ok"),
    "extra-prefix-still-checks-year": (parse.Rules(extra_id_prefixes=frozenset({"400"})), "400091012345", DOB,
                                       "id_year"),
    "unblocked-example": (parse.Rules(blocked_id_numbers=frozenset()), "201499999", DOB, "ok"),
    "blocked-12": (parse.Rules(blocked_id_numbers=frozenset({CCCD})), CCCD, DOB, "id_blocked"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("rules", "number", "dob", "expected"), RULES.values(), ids=RULES.keys()
)
def test_registration_rules(
    rules: parse.Rules, number: str, dob: str, expected: str
) -> None:
    text = f"TK,{NAME},{number},{dob}"
    if expected == "ok":
        assert _accepted(text, rules).id_number == number
    else:
        assert _reason(text, rules) == expected


def test_rules_defaults_match_the_domain() -> None:
    assert parse.Rules() == parse.Rules(
        True, 14, True, frozenset(), frozenset({"201499999"})
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_age": -1},
        {"extra_id_prefixes": frozenset({"48"})},
        {"extra_id_prefixes": frozenset({"٠٤٨"})},
        {"blocked_id_numbers": frozenset({"20149999x"})},
        {"extra_id_prefixes": frozenset({400})},
        {"blocked_id_numbers": frozenset({201499999})},
    ],
    ids=[
        "negative-age",
        "two-digit-prefix",
        "unicode-digits",
        "non-digit-block",
        "int-prefix",
        "int-block",
    ],
)
def test_invalid_rules_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse.Rules(**kwargs)  # type: ignore[arg-type]


def test_checks_run_in_pipeline_order() -> None:
    # Name before date before number: each text breaks all three.
    assert _reason("TK,Nguyen,0905123456,31.02.1990") == "name_words"
    assert _reason(f"TK,{NAME},0905123456,31.02.1990") == "date_invalid"
    assert parse.REASONS >= {"empty", "no_keyword", "bad_token", "items"}


def test_reasons_include_the_codes_callers_set() -> None:
    assert {"undecodable", "incomplete"} <= parse.REASONS
    assert len(parse.REASONS) == 20


@given(text=st.text(max_size=200))
def test_parse_never_raises_for_any_text(text: str) -> None:
    result = parse.parse_registration(text, TODAY)
    assert isinstance(result, parse.Registration) or result.reason in parse.REASONS


_GRAMMAR_PIECES = st.sampled_from(
    ["TK", "tk", ",", ";", " ", ".", "/", "-", "'", "0", "1", "2", "9", "048", "1990",
     "Nguyen", "Van", "An", "Đ", "ễ", "\u0301", "[", "]", "“", "”", "Ten", "Ho", "CMND",
     "\u200b", "\uff10", "٣", "😀", "\u00a0", "\n", "29.02.", "31.12.", "201499999"]
)  # fmt: skip


@given(pieces=st.lists(_GRAMMAR_PIECES, max_size=30), today=st.dates())
def test_parse_never_raises_for_near_grammar_text(
    pieces: list[str], today: datetime.date
) -> None:
    result = parse.parse_registration("".join(pieces), today)
    assert isinstance(result, parse.Registration) or result.reason in parse.REASONS


@given(data=st.data())
def test_retyped_registration_gives_the_same_result(data: st.DataObject) -> None:
    valid = data.draw(strategies.valid_registrations())
    text = data.draw(strategies.retyped(valid))
    result = parse.parse_registration(text, TODAY)
    assert isinstance(result, parse.Registration), (text, result)
    assert (result.name, result.id_number, result.birth_date) == (
        valid.name,
        valid.id_number,
        valid.birth_date,
    )


# §3.1 → §6 end to end: what handsets and gateways actually send.
DECODED = {
    "dc0-gsm-grave": (b"TK,Nguyen Thi H\x08a,048190012345,01.02.1990", 0, "NGUYEN THI HOA"),
    "dc0-gsm-letters": (b"TK,Tr\x7fn Th\x06y T\x06ng,048190012345,01.02.1990", 0, "TRAN THUY TUNG"),
    "dc0-gsm-capital-e-acute": (b"TK,\x1fN Van,048190012345,01.02.1990", 0, "EN VAN"),
    "dc3-cp1258-as-latin1-eth": (b"TK,\xd0\xe0o V\xe3n,048190012345,01.02.1990", 3, "DAO VAN"),
    "dc8-nfd": ("TK,Nguye\u0302\u0303n Va\u0306n,048190012345,01.02.1990".encode("utf-16-be"), 8, "NGUYEN VAN"),
    "dc8-bom-and-zwsp": ("\ufeffTK,\u200bĐào Ân,048190012345,01.02.1990".encode("utf-16-be"), 8, "DAO AN"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "dc", "name"), DECODED.values(), ids=DECODED.keys()
)
def test_decoded_mo_parses(payload: bytes, dc: int, name: str) -> None:
    decoded = codec.decode_mo(payload, dc)
    assert decoded is not None
    assert _accepted(decoded).name == name


def test_gsm_high_byte_is_not_guessed_into_a_letter() -> None:
    decoded = codec.decode_mo(b"TK,Nguyen Thi H\xe0,048190012345,01.02.1990", 0)
    assert decoded is not None
    assert _reason(decoded) == "bad_token"
