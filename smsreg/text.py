"""Cleaning of decoded MO text (domain.md §4) and diacritic folding (§6.1 fold)."""

from __future__ import annotations

import unicodedata

# §4 step 2: apostrophe look-alikes, mapped before NFKC turns ´ into space + accent.
APOSTROPHES = "\u2018\u2019\u201b\u02bc\u02b9\u0060\u00b4\u2032"
_STEP2_3 = str.maketrans({**dict.fromkeys(APOSTROPHES, "'"), "Ð": "Đ", "ð": "đ"})
# §4 step 5: the Unicode White_Space property (PropList.txt), not str.isspace(),
# which also accepts the information separators U+001C-U+001F.
WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# §4 step 6: opening character → its closing partner.
WRAPPERS = {"[": "]", "(": ")", '"': '"', "'": "'", "“": "”"}
TRAILING_JUNK = " .,;"


# The same steps for ASCII text (most MOs): no format characters (Cf), NFKC changes nothing,
# the one apostrophe look-alike is the backtick, and the white space is \t\n\v\f\r.
_ASCII_STEPS_2_TO_5 = str.maketrans({"`": "'", **dict.fromkeys("\t\n\x0b\x0c\r", " ")})


def _steps_1_to_5(text: str) -> str:
    spaced = text.translate(_ASCII_STEPS_2_TO_5) if text.isascii() else _steps_1_to_4_any(text)
    return " ".join(part for part in spaced.split(" ") if part)


def _steps_1_to_4_any(text: str) -> str:
    """Steps 1-4 and step 5's mapping of white space to spaces, for any text."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    mapped = unicodedata.normalize("NFKC", kept.translate(_STEP2_3))
    return "".join(" " if ch in WHITE_SPACE else ch for ch in mapped)


def _steps_6_and_7(text: str) -> str:
    """Unwrap, then strip trailing separators; repeated until nothing changes.

    The spec does each once. Repeating them makes clean() idempotent and accepts
    `[TK,…].`, where the full stop hides the bracket from a single unwrap.
    Works on indices so that deep nesting costs linear, not quadratic, time.
    """
    start, end = 0, len(text)
    while True:
        changed = False
        if end - start >= 2 and WRAPPERS.get(text[start]) == text[end - 1]:
            start, end, changed = start + 1, end - 1, True
            while start < end and text[start] == " ":
                start += 1
            while end > start and text[end - 1] == " ":
                end -= 1
        while end > start and text[end - 1] in TRAILING_JUNK:
            end, changed = end - 1, True
        if not changed:
            return text[start:end]


def clean(text: str) -> str:
    """Apply domain.md §4 steps 1-7, in order, until the text no longer changes.

    One pass is the spec. A second pass changes something only for the few
    characters whose NFKC form is itself cleaned by steps 1-3 (″ → ′′, ｀ → `, ᶞ → ð)
    and for nested wrappers; repeating makes clean(clean(s)) == clean(s).
    """
    while True:
        cleaned = _steps_6_and_7(_steps_1_to_5(text))
        if cleaned == text:
            return cleaned
        text = cleaned


def fold(s: str) -> str:
    """Strip Vietnamese diacritics: đ→d, Đ→D, then NFD and drop combining marks (Mn)."""
    return s if s.isascii() else _fold_any(s)  # ASCII: nothing to strip


def _fold_any(s: str) -> str:
    decomposed = unicodedata.normalize("NFD", s.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
