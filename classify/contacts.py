"""E-mail addresses and phone numbers (Kazakhstan and Russia: +7, or 8 dialled first).

E-mails are Latin: Cyrillic look-alike letters OCR put into one are read back as Latin, and an
address that still is not ASCII is dropped. Phones are normalised to ``+7XXXXXXXXXX``.
"""

from __future__ import annotations

import re

from classify.found import Found
from classify.normalize import CYRILLIC_TO_LATIN, only_digits

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\s?7|8)[\s\-\u00a0]*\(?\s*\d{3,5}\s*\)?[\s\-\u00a0]*\d{1,3}[\s\-\u00a0]*\d{2}[\s\-\u00a0]*\d{2}(?!\d)"
)


def find_emails(text: str) -> list[Found]:
    out = []
    for m in _EMAIL.finditer(text):
        address = m.group(0).translate(CYRILLIC_TO_LATIN).lower().strip(".")
        if address.isascii():
            out.append(Found(address, m.start(), m.end() - m.start(), 0.95 if address == m.group(0).lower() else 0.8))
    return out


def find_phones(text: str) -> list[Found]:
    out = []
    for m in _PHONE.finditer(text):
        digits = only_digits(m.group(0))
        if len(digits) != 11:
            continue
        out.append(Found("+7" + digits[1:], m.start(), m.end() - m.start(), 0.9))
    return out
