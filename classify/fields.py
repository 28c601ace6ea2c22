"""Pure field extractors over recognised text: the document's own date and number.

A first, deliberately small step (the classification issue brings kinds, amounts, BIN/IIN and
correspondents). Each extractor returns the first plausible match with its offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

MONTHS = {
    # Russian (genitive and nominative stems)
    "январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6, "июл": 7, "август": 8,
    "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12,
    # Kazakh
    "қаңтар": 1, "ақпан": 2, "наурыз": 3, "сәуір": 4, "мамыр": 5, "маусым": 6, "шілде": 7,
    "тамыз": 8, "қыркүйек": 9, "қазан": 10, "қараша": 11, "желтоқсан": 12,
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}
_MONTH_WORD = r"[A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]+"

_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?!\d)")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_DAY_MONTH_YEAR = re.compile(rf"(?<!\d)(\d{{1,2}})\s+({_MONTH_WORD})\s+(\d{{4}})")
_YEAR_DAY_MONTH = re.compile(rf"(\d{{4}})\s*(?:жылғы|ж\.)\s*(\d{{1,2}})\s+({_MONTH_WORD})")
_MONTH_DAY_YEAR = re.compile(rf"({_MONTH_WORD})\s+(\d{{1,2}}),?\s+(\d{{4}})")
_NUMBER = re.compile(r"(?:№|\bN[oо°]\.?|\bNr\.?)\s*([0-9A-Za-zА-Яа-я/\-.]*\d[0-9A-Za-zА-Яа-я/\-.]*)", re.I)


@dataclass(frozen=True, slots=True)
class Found:
    value: object
    offset: int


def _month(word: str) -> int | None:
    w = word.lower()
    for stem in sorted(MONTHS, key=len, reverse=True):
        if w.startswith(stem) and (len(stem) > 2 or w in ("мая", "май")):
            return MONTHS[stem]
    return None


def _make(y: int, m: int, d: int) -> date | None:
    if y < 100:
        y += 2000 if y < 70 else 1900
    try:
        out = date(y, m, d)
    except ValueError:
        return None
    return out if 1950 <= out.year <= 2100 else None


#: Each form and how to read (year, month, day) out of its match; a month may be a word.
_DATE_FORMS = (
    (_NUMERIC, (3, 2, 1)),
    (_ISO, (1, 2, 3)),
    (_DAY_MONTH_YEAR, (3, 2, 1)),
    (_YEAR_DAY_MONTH, (1, 3, 2)),
    (_MONTH_DAY_YEAR, (3, 1, 2)),
)


def find_date(text: str) -> Found | None:
    """The earliest date in the text in any of the forms offices print."""
    candidates: list[Found] = []
    for pattern, (yi, mi, di) in _DATE_FORMS:
        for m in pattern.finditer(text):
            month_text = m.group(mi)
            month = int(month_text) if month_text.isdigit() else _month(month_text)
            d = _make(int(m.group(yi)), month, int(m.group(di))) if month else None
            if d:
                candidates.append(Found(d, m.start()))
    return min(candidates, key=lambda f: f.offset) if candidates else None


def find_number(text: str) -> Found | None:
    """The document's own number: the first «№ 45/12-п», «No. 2024-118» and the like."""
    m = _NUMBER.search(text)
    return Found(m.group(1).rstrip(".-/"), m.start(1)) if m else None
