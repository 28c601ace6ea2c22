"""Listing cards a page at a time from the search index, with cursors that survive new cards.

The listing is a search without words (``app.searching``), sorted by registration time. A
cursor holds the offset after the last card served, the total at that moment, the last card's
id and a fingerprint of the filters and order. For ``newest`` the cards registered since push
the rest down, so the offset moves by how much the total grew; the page then starts right after
the last card served, found in a window a few cards either side of where it should be (a card
indexed late, or one that stopped matching a filter, shifts it by one). A listing that changed
by more than that pages on from the offset, best effort: exactly once is the change feed's
promise (``/api/v1/changes``), not this listing's. Only the first 10,000 cards of a listing
can be paged through (the index's window); narrow it with filters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from app.searching import MAX_PER_PAGE, SearchParams, search
from app.services import Services
from archive.errors import InvalidCursor

__all__ = ["CardListing", "list_cards"]

#: How many cards either side of the expected position the last card served is looked for.
SLACK = 10
#: The keys of a hit a listing shows.
SUMMARY_KEYS = ("card", "registration_number", "kind", "status", "title", "correspondent", "registered_at")


@dataclass(frozen=True)
class CardListing:
    cards: list[dict[str, Any]]
    total: int
    next_cursor: str | None


@dataclass(frozen=True)
class _Position:
    offset: int
    total: int
    last: str
    listing: str


def _fingerprint(params: SearchParams) -> str:
    key = json.dumps([params.kind, params.journal, params.correspondent, params.status,
                      str(params.start), str(params.end), params.sort], ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _encode(position: _Position) -> str:
    raw = json.dumps(["cards", position.offset, position.total, position.last, position.listing], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _decode(cursor: str, listing: str) -> _Position:
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")))
    except (UnicodeError, binascii.Error, ValueError) as e:
        raise InvalidCursor(f"{cursor!r} is not a card listing cursor") from e
    if (
        not isinstance(data, list) or len(data) != 5 or data[0] != "cards"
        or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in data[1:3])
        or not all(isinstance(s, str) for s in data[3:])
    ):  # fmt: skip
        raise InvalidCursor(f"{cursor!r} is not a card listing cursor; list from the first page again")
    if data[4] != listing:
        raise InvalidCursor("this cursor belongs to a listing with other filters or another order")
    return _Position(data[1], data[2], data[3], data[4])


def _window(services: Services, params: SearchParams, start: int, count: int) -> tuple[int, list[dict[str, Any]]]:
    """The total and the hits at ``start`` .. ``start + count`` (fewer at the end)."""
    size = min(MAX_PER_PAGE, count)
    page = start // size + 1
    hits: list[dict[str, Any]] = []
    while True:
        found = search(services, replace(params, page=page, per_page=size))
        hits.extend(found.hits[max(0, start - (page - 1) * size) :])
        if len(hits) >= count or len(found.hits) < size:
            return found.total, hits[:count]
        page += 1


def _resume(services: Services, params: SearchParams, position: _Position, limit: int) -> tuple[int, int, list[dict[str, Any]]]:
    """(total, offset of the page's first card, the page) after the cursor's last card."""
    expected = position.offset
    if params.sort == "newest":
        now, _ = _window(services, params, 0, 1)
        expected += now - position.total
    first = max(0, expected - SLACK)
    total, window = _window(services, params, first, expected - first + limit + SLACK)
    ids = [h["card"] for h in window]
    if position.last in ids:
        at = ids.index(position.last) + 1
    else:
        at = expected - first
    return total, first + at, window[at : at + limit]


def list_cards(services: Services, params: SearchParams, limit: int, cursor: str | None) -> CardListing:
    listing = _fingerprint(params)
    if cursor:
        total, start, hits = _resume(services, params, _decode(cursor, listing), limit)
    else:
        start = 0
        total, hits = _window(services, params, 0, limit)
    end = start + len(hits)
    more = bool(hits) and end < total
    next_cursor = _encode(_Position(end, total, str(hits[-1]["card"]), listing)) if more else None
    return CardListing([{k: h.get(k) for k in SUMMARY_KEYS} for h in hits], total, next_cursor)
