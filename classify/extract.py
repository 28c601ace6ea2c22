"""Every field extractor over a document's pages: one ``Field`` per name, with page and position.

For each name the first page that has it wins, except the amount, where a total beats a bare
figure. The correspondent is matched against the directory over the whole document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import cast

from classify.amounts import find_amount
from classify.contacts import find_emails, find_phones
from classify.fields import find_date, find_number
from classify.found import Found
from classify.identifiers import find_identifiers
from classify.model import Field
from classify.organisations import Correspondent, DirectoryEntry, find_correspondent

#: Single-value extractors by field name.
_SINGLE: dict[str, Callable[[str], Found | None]] = {
    "date": find_date,
    "number": find_number,
    "email": lambda text: next(iter(find_emails(text)), None),
    "phone": lambda text: next(iter(find_phones(text)), None),
}


def _field(found: Found, page: int, value: object | None = None) -> Field:
    return Field(found.value if value is None else value, round(found.confidence, 3), page, found.offset, found.length)


def extract_fields(pages: Sequence[str]) -> dict[str, Field]:
    """Date, number, amount and currency, BIN/IIN/INN/KPP, e-mail and phone of a document."""
    fields: dict[str, Field] = {}
    for page_no, text in enumerate(pages, 1):
        for name, finder in _SINGLE.items():
            if name not in fields and (found := finder(text)):
                fields[name] = _field(found, page_no)
        amount = find_amount(text)
        if amount is not None and ("amount" not in fields or amount.confidence > fields["amount"].confidence):
            value, currency = cast(tuple[Decimal, str], amount.value)
            fields["amount"] = _field(amount, page_no, _decimal_text(value))
            fields["currency"] = _field(amount, page_no, currency)
        for name, found in find_identifiers(text):
            if name not in fields:
                fields[name] = _field(found, page_no)
    return fields


def _decimal_text(value: Decimal) -> str:
    return f"{value:.2f}" if value != value.to_integral_value() else str(value.quantize(Decimal(1)))


def extract_correspondent(
    pages: Sequence[str], directory: Sequence[DirectoryEntry], fields: dict[str, Field], own_keys: Iterable[str] = ()
) -> tuple[Correspondent, int] | None:
    """The correspondent and the page it was found on (see ``classify.organisations``)."""
    tax_ids = [str(fields[n].value) for n in ("bin", "inn", "iin") if n in fields]
    own = list(own_keys)
    for page_no, text in enumerate(pages, 1):
        found = find_correspondent(text, directory, tax_ids=tax_ids, own_keys=own)
        if found is not None:
            return found, page_no
    return None
