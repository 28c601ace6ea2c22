"""The change feed: every card registration, change and deletion and every quarantined file, in
commit order (``ChangeFeed``).

The events are written by the changes themselves (``archive.events.append_events``), in their
transactions; this reads them. A consumer that keeps the last ``seq`` it handled and asks for
``events_after(seq)`` sees each event exactly once, in one order, and resumes after a crash.
Unlike the outbox, nothing here is consumed: every consumer keeps its own cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sqlalchemy import select

from archive.catalog.base import CatalogBase
from archive.events import event_row, last_seq
from archive.model import EVENT_TOPICS, EventRow
from archive.tables import events

__all__ = ["ChangeFeed", "SqlChangeFeed"]


@runtime_checkable
class ChangeFeed(Protocol):
    """The change feed, read from a position (a ``seq``) onwards."""

    def events_after(
        self, after_seq: int, limit: int, topics: Sequence[str] | None = None
    ) -> list[EventRow]: ...

    def last_event_seq(self) -> int: ...


class SqlChangeFeed(CatalogBase):
    """``ChangeFeed`` on the catalog database."""

    def events_after(
        self, after_seq: int, limit: int, topics: Sequence[str] | None = None
    ) -> list[EventRow]:
        """Up to ``limit`` events with ``seq > after_seq``, oldest first, optionally only some
        topics (None: all; an empty list: none)."""
        if limit < 1:
            raise ValueError(f"a limit is 1 or more, not {limit}")
        query = select(events).where(events.c.seq > after_seq).order_by(events.c.seq).limit(limit)
        if topics is not None:
            unknown = sorted(set(topics) - set(EVENT_TOPICS))
            if unknown:
                raise ValueError(f"unknown event topics {unknown}; known: {', '.join(EVENT_TOPICS)}")
            if not topics:
                return []
            query = query.where(events.c.topic.in_(sorted(set(topics))))
        with self._read() as conn:
            return [event_row(m) for m in conn.execute(query).mappings()]

    def last_event_seq(self) -> int:
        """The newest event's seq (0 when there is none yet)."""
        with self._read() as conn:
            return last_seq(conn)
