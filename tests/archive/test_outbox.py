"""Outbox: card changes waiting for the search index."""

from __future__ import annotations

from archive.catalog import Catalog
from tests.archive.helpers import make_draft, record


def test_outbox_done_removes_rows_from_pending_once(catalog: Catalog, batch: str) -> None:
    for source in ("a", "b", "c"):
        catalog.register_card(record(catalog, batch, source), make_draft(source))
    first, second, third = catalog.outbox_pending()
    assert first.id < second.id < third.id
    assert len(catalog.outbox_pending(limit=2)) == 2

    assert catalog.outbox_done([first.id, second.id]) == 2
    assert catalog.outbox_done([first.id]) == 0
    assert catalog.outbox_done([]) == 0

    assert catalog.outbox_pending() == [third]


def test_every_card_update_adds_an_upsert(catalog: Catalog, batch: str) -> None:
    card = catalog.register_card(record(catalog, batch, "a"), make_draft("a"))
    catalog.outbox_done(row.id for row in catalog.outbox_pending())

    catalog.update_card(card.id, {"title": "new"}, "clerk:x")
    catalog.update_card(card.id, {"title": "newer"}, "clerk:x")

    assert [(row.card_id, row.op) for row in catalog.outbox_pending()] == [(card.id, "upsert")] * 2
