"""Field extractors over recognised text: the document's own date and number.

Each extractor returns the first plausible match with its offset, length and a confidence.
Digits misread as letters (О→0, З→3, l/I→1) are read back inside dates; a date must exist.
"""

from __future__ import annotations

import re
from datetime import date

from classify.found import Found
from classify.normalize import fold, fold_digits

__all__ = ["MONTHS", "Found", "find_date", "find_number"]

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
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_WORD = r"[A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]+"
#: a digit, or a letter OCR reads in place of one
_D = r"[0-9ОOоoЗзlI|]"

_NUMERIC = re.compile(rf"(?<![\w.])({_D}{{1,2}})\s?[./]\s?({_D}{{1,2}})\s?[./]\s?({_D}{{4}}|\d{{2}})(?![\w])")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_QUOTE = r"[«»\"“”„'’<>]?"
_DAY_MONTH_YEAR = re.compile(rf"(?<![\w])({_D}{{1,2}}){_QUOTE}\s*({_MONTH_WORD})\.?\s+({_D}{{4}})")
_YEAR_DAY_MONTH = re.compile(rf"(\d{{4}})\s*(?:жылғы|жыл|ж\.)\s*(\d{{1,2}})\s*-?\s*({_MONTH_WORD})")
_MONTH_DAY_YEAR = re.compile(rf"({_MONTH_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})")
_NUMBER = re.compile(
    r"(?:№\.?|\bN[oо°º]?\.?(?=\s*\d)|\bNe(?=\s*\d)|\bNr\.?|\bномер\b)\s*([0-9A-Za-zА-Яа-я/\-.]*\d[0-9A-Za-zА-Яа-я/\-.]*)",
    re.I,
)

#: «форма № ТОРГ-12», «Форма по ОКУД»: the number of a form, not of the document
_FORM_NUMBER = re.compile(r"(?:форм[аыеу]|form|окуд)\W*$", re.I)


def _month(word: str) -> int | None:
    w = fold(word)
    for stem in sorted(MONTHS, key=len, reverse=True):
        if w.startswith(stem) and (len(stem) > 2 or w in ("мая", "май")):
            if len(stem) == 3 and len(w) > 4 and stem.isascii() and not w.startswith(("sept",)):
                continue  # "mar" inside "market": English abbreviations stand alone
            return MONTHS[stem]
    return None


def _int(text: str) -> tuple[int, bool]:
    """The number in ``text`` and whether a look-alike letter had to be read as a digit."""
    digits = fold_digits(text)
    return int(digits), digits != text


def _make(y: int, m: int, d: int) -> date | None:
    if y < 100:
        y += 2000 if y < 70 else 1900
    try:
        out = date(y, m, d)
    except ValueError:
        return None
    return out if 1950 <= out.year <= 2100 else None


#: Each form, how to read (year, month, day) out of its match, and its confidence.
_DATE_FORMS = (
    (_NUMERIC, (3, 2, 1), 0.85, False),
    (_ISO, (1, 2, 3), 0.9, False),
    (_DAY_MONTH_YEAR, (3, 2, 1), 0.9, True),
    (_YEAR_DAY_MONTH, (1, 3, 2), 0.9, True),
    (_MONTH_DAY_YEAR, (3, 1, 2), 0.85, True),
)


def find_dates(text: str) -> list[Found]:
    """Every date in the text, in any of the forms offices print, in text order."""
    found: list[Found] = []
    for pattern, (yi, mi, di), confidence, month_is_word in _DATE_FORMS:
        for m in pattern.finditer(text):
            year, fixed_y = _int(m.group(yi))
            day, fixed_d = _int(m.group(di))
            month_text = m.group(mi)
            fixed_m = False
            if month_is_word:
                month = _month(month_text)
            else:
                month, fixed_m = _int(month_text)
            d = _make(year, month, day) if month else None
            if d:
                penalty = 0.15 if (fixed_y or fixed_d or fixed_m) else 0.0
                found.append(Found(d, m.start(), m.end() - m.start(), confidence - penalty))
    found.sort(key=lambda f: f.offset)
    return [f for i, f in enumerate(found) if i == 0 or f.offset >= found[i - 1].offset + found[i - 1].length]


def find_date(text: str) -> Found | None:
    """The earliest date in the text."""
    dates = find_dates(text)
    return dates[0] if dates else None


def find_number(text: str) -> Found | None:
    """The document's own number: the first «№ 45/12-п», «No. 2024-118» and the like."""
    m = next((m for m in _NUMBER.finditer(text) if not _FORM_NUMBER.search(text[max(0, m.start() - 12) : m.start()])), None)
    if m is None:
        return None
    value = m.group(1).rstrip(".-/")
    confidence = 0.85 if m.group(0).startswith("№") else 0.75
    return Found(value, m.start(1), len(value), confidence)
