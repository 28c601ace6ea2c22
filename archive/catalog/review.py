"""The review queue and the classifier's training data (``ReviewStore``).

Cards that need a clerk carry ``status = "needs review"`` and their ``review_reasons``; cards a
clerk has verified are the examples the learned kind model trains on
(``classify.classifier.TrainingSource``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from sqlalchemy import func, select

from archive.catalog.base import CatalogBase
from archive.model import CardRow
from archive.rows import card_row
from archive.tables import cards, pages

__all__ = ["ReviewStore", "SqlReview"]


@runtime_checkable
class ReviewStore(Protocol):
    """Cards waiting for a clerk, and the verified cards classification learns from."""

    def review_queue(self, limit: int | None = None) -> list[CardRow]: ...

    def count_verified(self) -> int: ...

    def verified_examples(self, batch_size: int = 500) -> Iterator[tuple[str, str]]: ...


class SqlReview(CatalogBase):
    """``ReviewStore`` on the catalog database."""

    def review_queue(self, limit: int | None = None) -> list[CardRow]:
        """Cards with status ``needs review``, oldest registration first."""
        query = select(cards).where(cards.c.status == "needs review").order_by(cards.c.registered_at, cards.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [card_row(m) for m in conn.execute(query).mappings()]

    def count_verified(self) -> int:
        """How many cards clerks have verified (the kind model's training data)."""
        with self._read() as conn:
            query = select(func.count()).select_from(cards).where(cards.c.status == "verified")
            return int(conn.execute(query).scalar_one())

    def verified_examples(self, batch_size: int = 500) -> Iterator[tuple[str, str]]:
        """(kind, page texts joined) of every verified card, a few cards at a time."""
        after = ""
        while True:
            with self._read() as conn:
                chunk = list(
                    conn.execute(
                        select(cards.c.id, cards.c.kind)
                        .where(cards.c.status == "verified", cards.c.id > after)
                        .order_by(cards.c.id)
                        .limit(batch_size)
                    )
                )
                texts: dict[str, list[str]] = {}
                if chunk:
                    rows = conn.execute(
                        select(pages.c.card_id, pages.c.text)
                        .where(pages.c.card_id.in_([r.id for r in chunk]))
                        .order_by(pages.c.card_id, pages.c.number)
                    )
                    for card_id, text in rows:
                        texts.setdefault(card_id, []).append(text)
            for r in chunk:
                yield str(r.kind), "\n".join(texts.get(r.id, []))
            if len(chunk) < batch_size:
                return
            after = chunk[-1].id
