"""The change feed for downstream systems: every card registration, change and deletion and every
quarantined file, once each, in one stable order (``GET /api/v1/changes``, ``kartoteka export``).

A consumer keeps the ``next_cursor`` of the last page it handled and asks again with it; after a
crash it resumes from the cursor it stored and sees nothing twice and nothing missed. The cursor
is opaque to consumers (today the event's sequence number in decimal); it is written by the
change's own transaction in commit order (``archive.events``), unlike the search index's outbox,
which its one consumer drains.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.services import Services
from archive.errors import InvalidChange, InvalidCursor
from archive.model import EVENT_TOPICS, EventRow

__all__ = [
    "MAX_PAGE",
    "START",
    "ChangeEvent",
    "ChangePage",
    "export_changes",
    "list_changes",
    "parse_cursor",
]

#: The most changes one page holds.
MAX_PAGE = 1000
#: The cursor before the first change: a new consumer's starting point.
START = "0"
#: A cursor is a decimal sequence number, a 64-bit signed integer in the database.
MAX_SEQ = 2**63 - 1


@dataclass(frozen=True)
class ChangeEvent:
    """One change as the feed reports it; ``card`` is the card's id (None for a file event)."""

    cursor: str
    seq: int
    topic: str
    card: str | None
    registration_number: str | None
    at: datetime
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: EventRow) -> ChangeEvent:
        number = row.data.get("registration_number")
        return cls(
            cursor=str(row.seq),
            seq=row.seq,
            topic=row.topic,
            card=row.card_id,
            registration_number=None if number is None else str(number),
            at=row.at,
            data=dict(row.data),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "topic": self.topic,
            "card": self.card,
            "registration_number": self.registration_number,
            "at": self.at.isoformat(),
            "data": self.data,
        }


@dataclass(frozen=True)
class ChangePage:
    changes: list[ChangeEvent]
    #: store this and pass it as ``after`` next time: the last change's cursor, or the cursor
    #: given when there was no change after it
    next_cursor: str


def parse_cursor(cursor: str | None) -> int:
    """The sequence number a cursor stands for (None: the start); ``InvalidCursor`` if malformed."""
    if cursor is None:
        return 0
    # The length first: int() of a long run of digits costs time, and 20 digits pass the range.
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > len(str(MAX_SEQ)) or int(cursor) > MAX_SEQ:
        raise InvalidCursor(f"{cursor!r} is not a change-feed cursor; start from {START!r} or a stored cursor")
    return int(cursor)


def _check_topics(topics: Sequence[str] | None) -> list[str] | None:
    if topics is None:
        return None
    if isinstance(topics, str):
        topics = [topics]
    unknown = sorted(set(topics) - set(EVENT_TOPICS))
    if unknown or not topics:
        raise InvalidChange(f"topics must be among {', '.join(EVENT_TOPICS)}, not {list(topics)!r}")
    return list(topics)


def list_changes(
    services: Services,
    *,
    after: str | None,
    limit: int = 100,
    topics: Sequence[str] | None = None,
) -> ChangePage:
    """Up to ``limit`` changes after the cursor ``after`` (None: from the start), oldest first.

    ``topics`` keeps only those topics. ``InvalidCursor`` for a malformed cursor or one ahead of
    the feed (from another archive, or a restored older one); ``InvalidChange`` for a limit
    outside 1..1000 or an unknown topic.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidChange(f"a page holds 1 to {MAX_PAGE} changes, not {limit}")
    position = parse_cursor(after)
    wanted = _check_topics(topics)
    catalog = services.catalog
    rows = catalog.events_after(position, limit, wanted)
    if not rows and position > catalog.last_event_seq():
        raise InvalidCursor(
            f"cursor {after!r} is ahead of this archive's change feed; was it stored from another archive?"
        )
    changes = [ChangeEvent.from_row(row) for row in rows]
    return ChangePage(changes, changes[-1].cursor if changes else (after or START))


def export_changes(
    services: Services,
    *,
    after: str | None,
    write: Callable[[dict[str, Any]], None],
    batch: int = MAX_PAGE,
    topics: Sequence[str] | None = None,
) -> str:
    """Hand every change after ``after`` to ``write`` as its JSON dict, a page at a time (memory
    stays one page however large the archive); return the last cursor, to resume from."""
    cursor = START if after is None else after
    while True:
        page = list_changes(services, after=cursor, limit=batch, topics=topics)
        for change in page.changes:
            write(change.as_json())
        cursor = page.next_cursor
        if len(page.changes) < batch:
            return cursor
