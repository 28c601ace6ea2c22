"""ReviewStore: the review queue and the verified cards the kind model trains on."""

from __future__ import annotations

from archive.catalog import Catalog
from archive.model import ReviewReason
from tests.archive.helpers import make_draft, record

UNCERTAIN = ReviewReason("kind_uncertain", "kind uncertain: letter 0.41 < 0.60", "kind")


def test_the_review_queue_holds_cards_needing_review_oldest_first_with_reasons(
    catalog: Catalog, batch: str
) -> None:
    first = catalog.register_card(
        record(catalog, batch, "a"), make_draft("a", status="needs review", review_reasons=(UNCERTAIN,))
    )
    catalog.register_card(record(catalog, batch, "b"), make_draft("b"))
    second = catalog.register_card(record(catalog, batch, "c"), make_draft("c", status="needs review"))

    queue = catalog.review_queue()

    assert [card.id for card in queue] == [first.id, second.id]
    assert queue[0].review_reasons == (UNCERTAIN,)
    assert [card.id for card in catalog.review_queue(limit=1)] == [first.id]


def test_verified_examples_give_the_kind_and_the_pages_in_order(catalog: Catalog, batch: str) -> None:
    for i in range(3):
        catalog.register_card(record(catalog, batch, f"v{i}"), make_draft(f"v{i}", status="verified", kind=f"k{i}"))
    catalog.register_card(record(catalog, batch, "unverified"), make_draft("unverified"))

    examples = sorted(catalog.verified_examples(batch_size=2))

    assert catalog.count_verified() == 3
    assert examples == [(f"k{i}", "первый лист\nвторой лист") for i in range(3)]
