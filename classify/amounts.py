"""Amounts with their currency: «1 234 567,89 тенге», «₸ 12,500.00», «125 400 руб.», «USD 1,200».

Digit groups may be separated by spaces, non-breaking or thin spaces, apostrophes, dots or
commas; the last comma or dot followed by one or two digits is the decimal point. The amount a
document is about is the one after «итого», «всего», «к оплате», «сумма» (or their Kazakh and
English forms) when there is one, else the largest.
"""

from __future__ import annotations

import re
from decimal import Decimal

from classify.found import Found

_CURRENCIES: dict[str, str] = {
    "KZT": r"тенге|тнг|тг\.?|₸|kzt",
    "RUB": r"руб(?:лей|ля|ль)?\.?|р\.|₽|rub|rur",
    "USD": r"usd|\$|долл(?:аров|ара|ар)?\.?(?:\s*сша)?|us\s*dollars?|dollars?",
    "EUR": r"eur|€|евро|euros?",
}
_CURRENCY = "|".join(f"(?P<{code}>{alt})" for code, alt in _CURRENCIES.items())
_SEP = r"[ \u00a0\u202f\u2009'’.,]"
_NUMBER = rf"\d{{1,3}}(?:{_SEP}\d{{3}})+(?:[.,]\d{{1,2}})?|\d+(?:[.,]\d{{1,2}})?"
_AFTER = re.compile(rf"(?<![\d.,])(?P<num>{_NUMBER})\s*(?:(?:{_CURRENCY})(?![^\W\d_]))", re.I)
_BEFORE = re.compile(rf"(?<![^\W\d_])(?:{_CURRENCY})\s*(?P<num>{_NUMBER})(?![\d])", re.I)
_TOTAL = re.compile(r"(итог|всего|к\s+оплате|сумм[аеуы]|жиыны|барлығы|төлеуге|total|amount)", re.I)


def parse_number(text: str) -> Decimal | None:
    """«1 234 567,89» -> 1234567.89; None when the digit groups do not make a number."""
    s = re.sub(r"[\s\u00a0\u202f\u2009'’]", " ", text.strip())
    decimals = ""
    m = re.search(r"[.,](\d{1,2})$", s)
    if m:
        decimals = m.group(1)
        s = s[: m.start()]
    if not re.fullmatch(r"\d+|\d{1,3}(?:([ .,])\d{3})(?:\1\d{3})*", s):
        return None
    return Decimal(f"{re.sub(r'[ .,]', '', s)}.{decimals}" if decimals else re.sub(r"[ .,]", "", s))


def find_amounts(text: str) -> list[Found]:
    """Every amount with a currency, as ``(Decimal, "KZT")`` values, in text order."""
    out: list[Found] = []
    for pattern in (_AFTER, _BEFORE):
        for m in pattern.finditer(text):
            value = parse_number(m.group("num"))
            currency = next((code for code in _CURRENCIES if m.group(code)), None)
            if value is None or currency is None or value == 0:
                continue
            total = _TOTAL.search(text[max(0, m.start() - 40) : m.start()]) is not None
            out.append(Found((value, currency), m.start(), m.end() - m.start(), 0.9 if total else 0.75))
    out.sort(key=lambda f: f.offset)
    return out


def find_amount(text: str) -> Found | None:
    """The document's amount: the last one marked as a total, else the largest."""
    amounts = find_amounts(text)
    totals = [a for a in amounts if a.confidence >= 0.9]
    if totals:
        return totals[-1]
    return max(amounts, key=lambda a: a.value[0], default=None)  # type: ignore[index]
