"""The change feed's sequence: events numbered in commit order, written with the change itself.

``append_events`` runs inside the write transaction that makes the change (a registration, an
update, a deletion, a quarantine), so an event exists exactly when its change does. Its ``seq``
is taken from the one-row ``event_counter`` table: ``UPDATE event_counter SET value = value + n``
and then reading the value back. The ``UPDATE`` serialises every writer on that row until it
commits (on SQLite the transaction already holds the database's write lock), so sequence
numbers are handed out **in commit order**: once seq ``n`` is visible, every seq below it is
too, and a consumer reading ``seq > cursor`` never skips a row.

A database sequence or autoincrement would not give that on PostgreSQL: two transactions take
7 and 8, the one holding 8 commits first, a consumer reads 8 and stores it as its cursor, and 7
(committed a moment later) is never seen.

Taking the counter is the last thing a transaction does (callers collect their events and append
them once, at the end): the row lock is then held only until the commit, and no transaction
waits for another lock while holding it, so it cannot be part of a deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, select, update

from archive.model import EVENT_TOPICS, EventRow, EventTopic
from archive.rows import insert_ignore
from archive.tables import event_counter, events

__all__ = ["COUNTER_ID", "NewEvent", "append_events", "event_row", "last_seq"]

#: The counter's one row.
COUNTER_ID = 1


@dataclass(frozen=True)
class NewEvent:
    """An event to append: its topic, the card or input it is about, and its small payload."""

    topic: EventTopic
    card_id: str | None = None
    input_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.topic not in EVENT_TOPICS:
            raise ValueError(f"event topic must be one of {EVENT_TOPICS}, not {self.topic!r}")


def append_events(conn: Connection, new: Sequence[NewEvent], at: datetime) -> list[int]:
    """Number and insert events; call last in the write transaction of their change."""
    if not new:
        return []
    last = _take(conn, len(new))
    first = last - len(new) + 1
    conn.execute(
        events.insert(),
        [
            {"seq": first + i, "topic": e.topic, "card_id": e.card_id, "input_id": e.input_id,
             "at": at, "data": dict(e.data)}
            for i, e in enumerate(new)
        ],
    )  # fmt: skip
    return list(range(first, last + 1))


def _take(conn: Connection, count: int) -> int:
    """Advance the counter by ``count`` under its row lock; the new value."""
    bump = (
        update(event_counter)
        .where(event_counter.c.id == COUNTER_ID)
        .values(value=event_counter.c.value + count)
    )
    if conn.execute(bump).rowcount == 0:
        # Migration 0004 creates the row; a schema built another way starts the feed here.
        insert_ignore(conn, event_counter, {"id": COUNTER_ID, "value": 0})
        conn.execute(bump)
    return last_seq(conn)


def last_seq(conn: Connection) -> int:
    """The last seq handed out (0 before the first event)."""
    found = conn.execute(
        select(event_counter.c.value).where(event_counter.c.id == COUNTER_ID)
    ).scalar_one_or_none()
    return 0 if found is None else int(found)


def event_row(m: Mapping[Any, Any]) -> EventRow:
    return EventRow(
        seq=int(m["seq"]),
        topic=cast(EventTopic, m["topic"]),
        card_id=m["card_id"],
        input_id=m["input_id"],
        at=m["at"],
        data=dict(m["data"] or {}),
    )
