"""Taxpayer numbers and their check digits: Kazakhstan's BIN/IIN, Russia's INN and KPP.

BIN and IIN (12 digits): the weighted sum of the first 11 digits with weights 1..11, modulo 11;
if that is 10, again with weights 3..11,1,2; if still 10 the number is invalid; else it is the
12th digit. An IIN starts with the birth date (YYMMDD) and a century/sex digit 1-6; a BIN with the
year and month of registration and a type digit 4, 5 or 6.
INN: 10 digits (organisations, one check digit) or 12 (people, two check digits), each the
weighted sum modulo 11 modulo 10. KPP: 9 characters, no check digit (4 digits of the tax office,
2 of the reason, digits or capital Latin letters, then 3 digits), so it is taken only after «КПП».

Only numbers whose check digits hold are reported: OCR noise rarely makes a valid one.
"""

from __future__ import annotations

import re
from datetime import date

from classify.found import Found
from classify.normalize import fold_digits, only_digits

_KZ_WEIGHTS = ((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2))
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_A = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_B = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _digits(number: str, n: int) -> list[int] | None:
    return [int(c) for c in number] if len(number) == n and number.isdigit() else None


def kz_check_digit(first11: str) -> int | None:
    """The 12th digit of a BIN/IIN beginning with these 11 digits; None if none exists."""
    d = _digits(first11, 11)
    if d is None:
        raise ValueError(f"a BIN/IIN check digit needs 11 digits, not {first11!r}")
    for weights in _KZ_WEIGHTS:
        check = sum(a * w for a, w in zip(d, weights, strict=True)) % 11
        if check != 10:
            return check
    return None


def valid_bin_iin(number: str) -> bool:
    d = _digits(number, 12)
    return d is not None and kz_check_digit(number[:11]) == d[11]


def is_iin(number: str) -> bool:
    """A valid 12-digit number that starts with a birth date and a century/sex digit."""
    if not valid_bin_iin(number) or number[6] not in "123456":
        return False
    century = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}[number[6]]
    try:
        date(century + int(number[:2]), int(number[2:4]), int(number[4:6]))
    except ValueError:
        return False
    return True


def is_bin(number: str) -> bool:
    """A valid 12-digit number with a registration month and a legal-entity type digit."""
    return valid_bin_iin(number) and 1 <= int(number[2:4]) <= 12 and number[4] in "456"


def _inn_digit(d: list[int], weights: tuple[int, ...]) -> int:
    return sum(a * w for a, w in zip(d, weights, strict=False)) % 11 % 10


def inn_check_digits(first: str) -> str:
    """The check digit(s) completing an INN from its first 9 (organisation) or 10 (person) digits."""
    d = [int(c) for c in first] if first.isdigit() else []
    if len(d) == 9:
        return str(_inn_digit(d, _INN10))
    if len(d) == 10:
        eleventh = _inn_digit(d, _INN12_A)
        return f"{eleventh}{_inn_digit([*d, eleventh], _INN12_B)}"
    raise ValueError(f"an INN check digit needs 9 or 10 digits, not {first!r}")


def valid_inn(number: str) -> bool:
    if not number.isdigit() or len(number) not in (10, 12):
        return False
    head = number[:9] if len(number) == 10 else number[:10]
    return inn_check_digits(head) == number[len(head) :]


_KPP_FORMAT = re.compile(r"^\d{4}[0-9A-Z]{2}\d{3}$")


def valid_kpp(number: str) -> bool:
    return bool(_KPP_FORMAT.match(number)) and number[:4] != "0000"


# -- finding them in text -------------------------------------------------------------------

_DIGITISH = r"[0-9ОOоoЗзlI|]"
#: 9 to 12 digits, single spaces allowed inside (OCR and typists split long numbers)
_RUN = re.compile(rf"(?<![\w/]){_DIGITISH}(?:[ \u00a0]?{_DIGITISH}){{8,11}}(?![\w])")
_LABEL = re.compile(r"(БИН|ИИН|БСН|ЖСН|BIN|IIN|ИНН|INN)\W{0,3}$", re.I)
_INN_KPP = re.compile(r"(?:ИНН|INN)\s*/\s*(?:КПП|KPP)\W{0,3}(\d{10}|\d{12})\s*/\s*(\d{4}[0-9A-Z]{2}\d{3})(?!\w)", re.I)
_KPP_LABELLED = re.compile(rf"(?:КПП|KPP)\W{{0,3}}({_DIGITISH}{{4}}[0-9A-Z]{{2}}{_DIGITISH}{{3}})(?!\w)", re.I)
_KZ_LABELS = {"бин", "иин", "бсн", "жсн", "bin", "iin"}
_KZ_CONTEXT = re.compile(r"тенге|kzt|₸|казахстан|қазақстан|алматы|астана|бин|иин|бсн|жсн|тоо|жшс", re.I)


def find_identifiers(text: str) -> list[tuple[str, Found]]:
    """Every BIN, IIN, INN and KPP in the text whose check digits (or, for KPP, label) hold.

    A number without a label is taken only with 12 contiguous digits (two check digits for an
    INN, one in 11 chance for a BIN/IIN): a bare 10-digit run is as likely a phone number.
    """
    kazakh_context = _KZ_CONTEXT.search(text) is not None
    out: list[tuple[str, Found]] = []
    for m in _INN_KPP.finditer(text):
        if valid_inn(m.group(1)):
            out.append(("inn", Found(m.group(1), m.start(1), len(m.group(1)), 0.98)))
        if valid_kpp(m.group(2)):
            out.append(("kpp", Found(m.group(2), m.start(2), len(m.group(2)), 0.95)))
    for m in _KPP_LABELLED.finditer(text):
        number = fold_digits(m.group(1)[:4]) + m.group(1)[4:6] + fold_digits(m.group(1)[6:])
        if valid_kpp(number):
            out.append(("kpp", Found(number, m.start(1), len(m.group(1)), 0.9)))
    taken = {f.offset for _, f in out}
    for m in _RUN.finditer(text):
        if m.start() in taken:
            continue
        raw = m.group(0)
        number = only_digits(fold_digits(raw))
        compact = raw.replace(" ", "").replace("\u00a0", "")
        if len(number) != len(compact):
            continue
        label_match = _LABEL.search(text[max(0, m.start() - 12) : m.start()])
        label = label_match.group(1).lower() if label_match else None
        if label is None and (len(number) != 12 or compact != raw):
            continue
        confidence = 0.98 if label else 0.9
        if fold_digits(raw) != raw or compact != raw:
            confidence -= 0.08
        name = _name(number, label, kazakh_context)
        if name:
            out.append((name, Found(number, m.start(), m.end() - m.start(), confidence)))
    out.sort(key=lambda item: item[1].offset)
    return out


def _name(number: str, label: str | None, kazakh_context: bool) -> str | None:
    kz = len(number) == 12 and valid_bin_iin(number)
    ru = valid_inn(number)
    if label in ("инн", "inn"):
        return "inn" if ru else None
    if label in _KZ_LABELS or (kz and (not ru or kazakh_context)):
        if not kz:
            return None
        if label in ("иин", "жсн", "iin") or (label is None and is_iin(number) and not is_bin(number)):
            return "iin"
        return "bin"
    return "inn" if ru else None
