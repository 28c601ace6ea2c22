"""Keeping the index in step with the catalog: the outbox feed and the full rebuild.

The catalog is the source of truth and the index is derived from it. Every change of a card
leaves an outbox row in the same transaction; ``apply_outbox`` turns pending rows into index
writes and marks them done only after the index committed them, so an index that was down
catches up from where it stopped. ``reindex`` streams every card in batches: memory holds one
batch and the set of card ids, never the corpus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from archive.catalog import Catalog
from search.backend import SearchIndex
from search.document import card_document

__all__ = ["ReindexTotals", "apply_outbox", "reindex"]

log = logging.getLogger(__name__)


def apply_outbox(catalog: Catalog, index: SearchIndex, tz: ZoneInfo, *, batch: int = 200) -> int:
    """Apply one batch of pending outbox rows; returns how many rows were applied."""
    rows = catalog.outbox_pending(limit=batch)
    if not rows:
        return 0
    latest = {row.card_id: row.op for row in rows}  # rows come oldest first: the last op wins
    docs, gone = [], []
    for card_id, op in latest.items():
        view = catalog.get_card(card_id) if op == "upsert" else None
        if view is None:
            gone.append(card_id)
        else:
            docs.append(card_document(view, tz))
    if docs:
        index.upsert(docs)
    if gone:
        index.delete(gone)
    index.commit()
    catalog.outbox_done(row.id for row in rows)
    log.info("index feed: %d cards indexed, %d removed", len(docs), len(gone))
    return len(rows)


@dataclass(frozen=True)
class ReindexTotals:
    cards: int
    removed: int
    documents: int  # in the index afterwards

    def as_json(self) -> dict[str, int]:
        return {"cards": self.cards, "removed": self.removed, "documents": self.documents}


def reindex(
    catalog: Catalog,
    index: SearchIndex,
    tz: ZoneInfo,
    *,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ReindexTotals:
    """Write every card to the index again and drop documents of cards the catalog lacks.

    The old documents stay searchable until their replacement is committed (no empty window).
    Pending outbox rows are left to the feed: applying them again changes nothing. The service
    may go on registering and deleting cards meanwhile: what is stale is decided against the
    catalog as it is at the end, not against the cards this run read (a card registered behind
    the read cursor, indexed by the feed, was dropped as stale and stayed unsearchable; a card
    deleted after it was read came back).
    """
    seen: set[str] = set()
    docs = []
    for view in catalog.iter_cards(batch_size=batch):
        docs.append(card_document(view, tz))
        seen.add(view.card.id)
        if len(docs) >= batch:
            index.upsert(docs)
            if progress:
                progress(len(docs))
            docs = []
            if len(seen) % (batch * 20) == 0:
                index.commit()  # bounds the writer's memory and shows progress to searches
    if docs:
        index.upsert(docs)
        if progress:
            progress(len(docs))
    index.commit()
    indexed = list(index.card_ids())  # first: a card registered after this read is no candidate
    now = catalog.card_ids()
    stale = [card_id for card_id in indexed if card_id not in now]
    if stale:
        index.delete(stale)
        index.commit()
    index.mark_complete()
    return ReindexTotals(len(seen), len(stale), index.count())
