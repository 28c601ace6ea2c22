"""The outbox: card changes the search index has still to apply (``Outbox``).

Every change of a card adds a row in the same transaction (``archive.catalog.cards``); the index
feed reads the pending rows in order, applies them, and marks them done.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from sqlalchemy import update

from archive.catalog.base import CatalogBase
from archive.model import OutboxRow
from archive.rows import outbox_row, outbox_select
from archive.tables import outbox

__all__ = ["Outbox", "SqlOutbox"]


@runtime_checkable
class Outbox(Protocol):
    """Changes for the search index, oldest first, until they are marked done."""

    def outbox_pending(self, limit: int = 100) -> list[OutboxRow]: ...

    def outbox_done(self, ids: Iterable[int]) -> int: ...


class SqlOutbox(CatalogBase):
    """``Outbox`` on the catalog database."""

    def outbox_pending(self, limit: int = 100) -> list[OutboxRow]:
        """Changes the search index has not applied yet, oldest first."""
        with self._read() as conn:
            return [outbox_row(m) for m in conn.execute(outbox_select().limit(limit)).mappings()]

    def outbox_done(self, ids: Iterable[int]) -> int:
        """Mark outbox rows as applied; returns how many were still pending."""
        wanted = list(ids)
        if not wanted:
            return 0
        with self._write() as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(wanted), outbox.c.processed_at.is_(None))
                .values(processed_at=self._clock())
            )
            return result.rowcount
