"""Opaque paging cursors: a row's position in a listing, as a short URL-safe string.

A cursor names the listing it belongs to and the sort key of the last row a caller saw, so
the next page starts right after that row however many rows were added since. Callers treat
it as opaque; a cursor that was not made here raises ``InvalidCursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from archive.errors import InvalidCursor

__all__ = ["batch_cursor", "batch_position", "ledger_cursor", "ledger_position"]

_LEDGER = "ledger"
_BATCHES = "batches"


def ledger_cursor(created_at: datetime, path: str, input_id: str) -> str:
    """The cursor of a ledger row, whose order is (created_at, path, id)."""
    return _encode(_LEDGER, _when(created_at), path, input_id)


def ledger_position(cursor: str) -> tuple[datetime, str, str]:
    """(created_at, path, id) of a ledger cursor."""
    when, path, input_id = _decode(cursor, _LEDGER, 3)
    return _parse_when(when, cursor), path, input_id


def batch_cursor(created_at: datetime, batch_id: str) -> str:
    """The cursor of a batch in ``list_batches``, whose order is (created_at, id)."""
    return _encode(_BATCHES, _when(created_at), batch_id)


def batch_position(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) of a batch cursor."""
    when, batch_id = _decode(cursor, _BATCHES, 2)
    return _parse_when(when, cursor), batch_id


def _when(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"a cursor needs an aware datetime, not {moment!r}")
    return moment.isoformat()


def _encode(listing: str, *parts: str) -> str:
    raw = json.dumps([listing, *parts], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _decode(cursor: str, listing: str, size: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (UnicodeError, binascii.Error, ValueError) as e:
        raise InvalidCursor(f"{cursor!r} is not a {listing} cursor; page from the first page again") from e
    if (
        not isinstance(data, list)
        or len(data) != size + 1
        or data[0] != listing
        or not all(isinstance(part, str) for part in data)
    ):
        raise InvalidCursor(f"{cursor!r} is not a {listing} cursor; page from the first page again")
    return [str(part) for part in data[1:]]


def _parse_when(text: str, cursor: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise InvalidCursor(f"{cursor!r} holds a bad time {text!r}") from e
    if moment.tzinfo is None:
        raise InvalidCursor(f"{cursor!r} holds a time without a zone: {text!r}")
    return moment
