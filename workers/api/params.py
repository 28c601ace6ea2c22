"""Path and query parameters shared by several routes."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator

__all__ = ["CardId", "Cursor", "ID_PATTERN", "IsoDate"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (pydantic alone also takes ``0`` as 1970-01-01)."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


#: A calendar date in a query, written YYYY-MM-DD.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]

#: Card ids, registration numbers, batch ids, token names: word characters and hyphens only, so
#: no id can name a path (``..``, ``/``) or carry control characters.
ID_PATTERN = r"^[\w-]+$"

CardId = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="the card's id or registration number"),
]
Cursor = Annotated[
    str | None,
    Query(max_length=512, pattern=r"^[A-Za-z0-9_.:=-]+$", description="a cursor from the previous page's next_cursor"),
]
