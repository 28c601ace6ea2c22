"""A card field's stored value as what it is, so that the page writes it in its locale: a date
field's ISO date as a date, an amount's figure as a Decimal (its decimal places kept). The
correction form shows values as stored; only what is displayed is typed."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["DATE_FIELDS", "NUMBER_FIELDS", "Shown", "typed_value"]

#: Fields (and audit names of card columns) whose values are dates.
DATE_FIELDS = frozenset({"date", "doc_date"})
#: Fields whose values are figures: the amount, a line item's columns (``items.N.price``…) and
#: the item table's summary. Numbers that are codes (BIN, IIN, a document number) stay text.
NUMBER_FIELDS = frozenset({"amount", "quantity", "price", "vat", "total", "items.sum", "items.count"})

Shown = str | int | Decimal | date

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_FIGURE = re.compile(r"-?\d{1,15}(?:\.\d{1,6})?")
_ITEM_COLUMN = re.compile(r"items\.\d+\.(\w+)")


def typed_value(name: str, value: Any) -> Shown:
    """``value`` of the field ``name`` as a date or a number where the field holds one and the
    value reads as one; else as text (a date a clerk typed as «12.03.2024» stays as typed)."""
    if isinstance(value, date | Decimal):
        return value
    item = _ITEM_COLUMN.fullmatch(name)
    kind = item.group(1) if item else name
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    text = str(value)
    if kind in DATE_FIELDS and _ISO_DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return text
    if kind in NUMBER_FIELDS:
        if isinstance(value, int):
            return value
        if _FIGURE.fullmatch(text):
            return Decimal(text)
    return text
