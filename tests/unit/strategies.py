"""Shared hypothesis strategies: GSM texts, valid registrations and their re-typings."""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass
from typing import Literal

from hypothesis import strategies as st

from smsreg import codec

TODAY = datetime.date(2025, 6, 15)
# Everything is GSM below U+2100 (€ is U+20AC); the tables are tested independently.
GSM_CHARS = "".join(ch for ch in map(chr, range(0x2100)) if codec.is_gsm(ch))

# Plain-ASCII name words; none is a label (HO, TEN, HOTEN) so any may come first.
NAME_WORDS = (
    "Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang", "Bui", "Van", "Thi",
    "An", "Binh", "Cuong", "Dung", "Hoa", "Thuy", "Tung", "Ha", "Minh", "Ngoc",
    "Bich", "Lan", "Y", "A", "Khanh", "Duc", "Quynh", "Ksor", "Mlo", "H'Hen",
    "Y-Khun", "Nie", "Dao", "Dinh",
)  # fmt: skip
PROVINCES = ("001", "031", "046", "048", "049", "079", "092", "096")
TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
SHAPES = {
    "a": ("\u0302", "\u0306"),
    "e": ("\u0302",),
    "o": ("\u0302", "\u031b"),
    "u": ("\u031b",),
}
FIELD_SEPARATORS = (",", ";", " ", ", ", " ,", ";;", ",,", ", ;", " ; ", "\t", " \n ")
WORD_SEPARATORS = (" ", "  ", "\t", "\u00a0", "\u3000", " \r\n ")
WRAPPERS = (("", ""), ("[", "]"), ("(", ")"), ('"', '"'), ("“", "”"), ("'", "'"))
TAILS = ("", ".", " .", ";", ",", " ,. ")
INVISIBLE = ("\u200b", "\ufeff", "\u00ad", "\u200d", "\u2060")
APOSTROPHES = ("'", "\u2019", "\u02bc", "\u2018")
FORMS: tuple[Literal["NFC", "NFD"], ...] = ("NFC", "NFD")


@dataclass(frozen=True, slots=True)
class Valid:
    """A valid registration: its words as plain ASCII, number and birth date."""

    words: tuple[str, ...]
    id_number: str
    birth_date: datetime.date

    @property
    def name(self) -> str:
        return " ".join(word.upper() for word in self.words)


@st.composite
def _cccd(draw: st.DrawFn, birth: datetime.date) -> str:
    sex = draw(st.integers(0, 1))
    century = 0 if birth.year < 2000 else 2
    tail = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    province = draw(st.sampled_from(PROVINCES))
    return f"{province}{century + sex}{birth.year % 100:02d}{tail}"


_CMND9 = st.text(alphabet="0123456789", min_size=9, max_size=9).filter(
    lambda n: len(set(n)) > 1 and n != "201499999"
)


@st.composite
def valid_registrations(draw: st.DrawFn) -> Valid:
    words = draw(st.lists(st.sampled_from(NAME_WORDS), min_size=2, max_size=7))
    birth = draw(st.dates(datetime.date(1900, 1, 1), datetime.date(2011, 6, 15)))
    number = draw(st.one_of(_cccd(birth), _CMND9))
    return Valid(tuple(words), number, birth)


def _decorate_letter(draw: st.DrawFn, ch: str) -> str:
    """Random case and Vietnamese diacritics whose fold() is the letter itself."""
    ch = ch.upper() if draw(st.booleans()) else ch.lower()
    if ch in "dD" and draw(st.booleans()):
        return draw(st.sampled_from(("đ", "ð") if ch == "d" else ("Đ", "Ð")))
    if ch.lower() not in "aeiouy":
        return ch
    shape = draw(st.sampled_from(("", *SHAPES.get(ch.lower(), ()))))
    tone = draw(st.sampled_from(("", *TONES)))
    return ch + shape + tone


@st.composite
def typed_name(draw: st.DrawFn, words: tuple[str, ...]) -> str:
    typed = []
    for word in words:
        letters = "".join(_decorate_letter(draw, ch) for ch in word)
        typed.append(letters.replace("'", draw(st.sampled_from(APOSTROPHES))))
    form = draw(st.sampled_from(FORMS))
    spaces = [draw(st.sampled_from(WORD_SEPARATORS)) for _ in typed[1:]]
    joined = typed[0] + "".join(sep + word for sep, word in zip(spaces, typed[1:], strict=True))
    return unicodedata.normalize(form, joined)


@st.composite
def typed_date(draw: st.DrawFn, birth: datetime.date) -> str:
    day = draw(st.sampled_from((f"{birth.day}", f"{birth.day:02d}")))
    month = draw(st.sampled_from((f"{birth.month}", f"{birth.month:02d}")))
    first, second = draw(st.sampled_from("./-")), draw(st.sampled_from("./-"))
    return f"{day}{first}{month}{second}{birth.year:04d}"


def _full_width(text: str) -> str:
    return "".join(
        "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch
        for ch in text
    )


@st.composite
def retyped(draw: st.DrawFn, valid: Valid) -> str:
    """The same registration as a citizen might type it (§10 rows 1-11, 15-16, 19, 24, 37)."""
    fields = [
        typed_name(valid.words),
        st.just(valid.id_number),
        typed_date(valid.birth_date),
    ]
    order = draw(st.permutations([draw(field) for field in fields]))
    message = draw(st.sampled_from(("TK", "tk", "Tk", "tK")))
    for field in order:
        message += draw(st.sampled_from(FIELD_SEPARATORS)) + field
    message += draw(st.sampled_from(TAILS))
    opening, closing = draw(st.sampled_from(WRAPPERS))
    message = opening + message + closing + draw(st.sampled_from(("", ".", " ")))
    if draw(st.booleans()):
        message = _full_width(message)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(message)))
        message = message[:at] + draw(st.sampled_from(INVISIBLE)) + message[at:]
    return draw(st.sampled_from(("", " ", "\t", "\n"))) + message
