"""Parity on recognised text: generated office documents, damaged and read by real Tesseract
(tests/search/ocr_corpus.py), give the same top 10 in the same order on both backends.

The cards are drafted as the service drafts them: the kind's name as the title (so every card of
a kind ties on it), the organisation as correspondent, the recognised text as the page. Ties
must be broken alike too: the order is compared card by card, not group by group, on a fresh
index and on one the outbox fed a few cards a commit, with cards rewritten afterwards (there the
two backends merge segments at their own times, so their own tie orders differ: search.ties).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

import search.query
from archive.catalog import Catalog
from archive.db import make_engine, upgrade
from archive.model import CardDraft, PageDraft
from search import ties
from search.backend import RawHit, SearchIndex
from search.document import IndexDoc, card_document
from search.feed import apply_outbox, reindex
from search.service import SearchResponse, run_search
from tests.archive.helpers import TickingClock, sha
from tests.search.conftest import TZ, drop_index, make_index
from tests.search.ocr_corpus import OcrDoc, generate, recognise

INFLECTED = [
    "договором аренды", "договорами поставки", "арендатором помещения", "актами приёмки", "актом",
    "счетами на оплату", "счёта", "заявлением", "отпуска", "уставом общества", "уставного капитала",
    "доверенностью", "доверенностей", "товарной накладной", "поставщиком", "общим собранием участников",
    "тенге", "работ", "Ахметовым", "Северного ветра",
]
FUNCTION_WORDS = [
    "об отпуске", "на оплату", "по счёту", "на основании настоящего устава", "о том что работы выполнены",
    "без права передоверия", "с условиями поставки", "и", "на",
]
# Typo tolerance (``word~``) where the query language has it.
TYPOS = (
    ["даговор~ аренды", "довереность~", "заявлние~", "накладнй~", "устав~ обшества~", "поставщиком~"]
    if hasattr(search.query, "Fuzzy") else []
)
QUERIES = INFLECTED + FUNCTION_WORDS + TYPOS


@dataclass(frozen=True)
class Recognised:
    docs: list[OcrDoc]
    texts: dict[str, str]


@pytest.fixture(scope="session")
def recognised(tmp_path_factory: pytest.TempPathFactory) -> Recognised:
    """The generated documents read by Tesseract, once per session."""
    docs = generate()
    return Recognised(docs, recognise(docs, tmp_path_factory.mktemp("ocr-pages")))


def _catalog(recognised: Recognised, root: Path) -> tuple[Catalog, dict[str, str]]:
    engine = make_engine(f"sqlite:///{root / 'catalog.db'}")
    upgrade(engine)
    clock = TickingClock(datetime(2026, 3, 1, tzinfo=timezone.utc))
    catalog = Catalog(engine, clock=clock, tz=TZ)
    batch = catalog.open_batch("/srv/inbox", "ocr-corpus")
    keys: dict[str, str] = {}
    for doc in recognised.docs:
        row = catalog.record_input(batch, f"/srv/inbox/{doc.key}.png", f"{doc.key}.png", sha(doc.key), 10)
        draft = CardDraft(
            journal="ВХ", kind=doc.kind, source_sha256=sha(doc.key), title=doc.title, correspondent=doc.correspondent,
            pages=[PageDraft(1, recognised.texts[doc.key], 0.8)],
        )
        keys[catalog.register_card(row.id, draft).id] = doc.key
    return catalog, keys


class _Both:
    """The index feed writing to both backends at once (it marks an outbox row done once)."""

    def __init__(self, *indexes: SearchIndex) -> None:
        self.indexes = indexes

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        for index in self.indexes:
            index.upsert(docs)

    def delete(self, card_ids: Sequence[str]) -> None:
        for index in self.indexes:
            index.delete(card_ids)

    def commit(self) -> None:
        for index in self.indexes:
            index.commit()


def _fill(catalog: Catalog, keys: dict[str, str], embedded: SearchIndex, elastic: SearchIndex, how: str) -> None:
    """``fresh``: one full reindex each. ``edited``: the outbox feed, five cards a commit as a
    running service applies it, then every third card written again, five a commit (a clerk
    verifying them): several segments, merged when each backend decides, and deleted documents."""
    if how == "fresh":
        for index in (embedded, elastic):
            reindex(catalog, index, TZ)
        return
    both = _Both(embedded, elastic)
    while apply_outbox(catalog, both, TZ, batch=5):  # type: ignore[arg-type]
        pass
    again = sorted(keys)[::3]
    for start in range(0, len(again), 5):
        view = [catalog.get_card(card_id) for card_id in again[start : start + 5]]
        both.upsert([card_document(v, TZ) for v in view if v is not None])
        both.commit()


@pytest.fixture(scope="module", params=["fresh", "edited"])
def both(
    request: pytest.FixtureRequest, recognised: Recognised, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SearchIndex, SearchIndex, dict[str, str], str]]:
    where = tmp_path_factory.mktemp("parity-ocr")
    catalog, keys = _catalog(recognised, where)
    embedded, elastic = make_index("tantivy", where), make_index("elastic", where)
    _fill(catalog, keys, embedded, elastic, request.param)
    yield embedded, elastic, keys, request.param
    drop_index(embedded)
    drop_index(elastic)


def _order(response: SearchResponse, keys: dict[str, str]) -> list[str]:
    return [keys[h["card"]] for h in response.hits]


def test_the_pages_were_damaged_and_read_with_slips(recognised: Recognised) -> None:
    """What is indexed is OCR's reading, not the typeset text: it differs, and look-alikes remain."""
    changed = [d.key for d in recognised.docs if " ".join(recognised.texts[d.key].split()) != " ".join(d.text.split())]
    assert len(changed) >= len(recognised.docs) // 2
    latin_in_words = sum(
        1 for d in recognised.docs for w in recognised.texts[d.key].split()
        if any("а" <= ch <= "я" for ch in w.lower()) and any("a" <= ch <= "z" for ch in w.lower())
    )
    assert latin_in_words >= 10
    assert all(recognised.texts[d.key].strip() for d in recognised.docs)


@pytest.mark.parametrize("query", QUERIES)
def test_same_top_10_in_the_same_order(both: tuple[SearchIndex, SearchIndex, dict[str, str], str], query: str) -> None:
    """Same cards, same order, ties included. Scores: equal on a fresh index; once cards were
    written again they differ by a few per cent (each backend counts deleted documents in its
    statistics until its own merges drop them: bench/results/relevance.md), the order does not."""
    embedded, elastic, keys, how = both
    a = run_search(embedded, query, limit=10)
    b = run_search(elastic, query, limit=10)
    assert a.total == b.total
    assert a.total > 0, f"{query!r} finds nothing: the case tests no order"
    assert _order(a, keys) == _order(b, keys)
    if how == "fresh":
        assert [h["score"] for h in a.hits] == pytest.approx([h["score"] for h in b.hits], rel=1e-3)


def test_ties_are_ordered_by_card(both: tuple[SearchIndex, SearchIndex, dict[str, str], str]) -> None:
    """A constant-score query (a prefix: every hit ties) lists the cards by id on both
    backends, whatever order the index holds them in."""
    embedded, elastic, keys, _ = both
    for index in (embedded, elastic):
        hits = run_search(index, "дог*", limit=20).hits
        assert len({h["score"] for h in hits}) == 1 and len(hits) >= 8
        assert [h["card"] for h in hits] == sorted(h["card"] for h in hits)


@pytest.mark.parametrize("query", ["договором аренды", "актами приёмки", "доверенностью"])
def test_inflected_queries_find_their_kind_first(both: tuple[SearchIndex, SearchIndex, dict[str, str], str], query: str) -> None:
    """Every card of the kind asked for comes before any other, on both backends."""
    embedded, elastic, keys, _ = both
    kind = {"договором аренды": "lease_contract", "актами приёмки": "acceptance_act", "доверенностью": "power_of_attorney"}[query]
    for index in (embedded, elastic):
        top = _order(run_search(index, query, limit=4), keys)
        assert [k.rsplit("-", 1)[0] for k in top] == [kind] * 4


def _raw(card: str, score: float) -> RawHit:
    return RawHit(card, score, {"card": card})


def _backend(hits: list[RawHit]) -> tuple[list[tuple[int, int]], list[list[str]], ties.Wider, ties.Fill]:
    """A backend holding ``hits`` in its own order: what ``page`` asked it for is recorded."""
    wide: list[tuple[int, int]] = []
    filled: list[list[str]] = []

    def wider(start: int, count: int) -> list[RawHit]:
        wide.append((start, count))
        return [RawHit(h.card_id, h.score, {}) for h in hits[start : start + count]]

    def fill(missing: list[RawHit]) -> list[RawHit]:
        filled.append([h.card_id for h in missing])
        return [next(x for x in hits if x.card_id == h.card_id) for h in missing]

    return wide, filled, wider, fill


def test_a_tie_group_running_past_the_window_is_fetched_further() -> None:
    """The page's last hit ties with the window's last: the group may go on, so the backend is
    asked for a wider window (ids and scores), then for the stored documents it lacks."""
    group = [_raw(f"c{i:02d}", 1.0) for i in range(30, 0, -1)]  # the index holds them last id first
    wide, filled, wider, fill = _backend(group)
    start, count = ties.window(0, 5)
    top = ties.page(group[start : start + count], 0, 5, wider, fill, len(group))
    assert wide == [ties.window(0, 5, ties.FURTHER)]
    assert [h.card_id for h in top] == ["c01", "c02", "c03", "c04", "c05"]
    assert filled == [["c01", "c02", "c03", "c04", "c05"]]  # none of them was in the first window
    assert all(h.stored == {"card": h.card_id} for h in top)


def test_a_settled_page_is_not_fetched_again_and_near_equal_scores_tie() -> None:
    hits = [_raw("b", 2.0000001), _raw("a", 2.0), _raw("c", 1.5)] + [_raw(f"x{i}", 1.0 - i / 100) for i in range(20)]
    wide, filled, wider, fill = _backend(hits)
    assert [h.card_id for h in ties.page(hits[:7], 0, 2, wider, fill, len(hits))] == ["a", "b"]  # float noise: a tie, by id
    start, count = ties.window(8, 2)
    assert [h.card_id for h in ties.page(hits[start : start + count], 8, 2, wider, fill, len(hits))] == ["x5", "x6"]
    assert wide == [] and filled == []


def test_a_tie_across_the_start_of_a_later_page_is_settled_with_the_hits_before_it() -> None:
    """Page 2 starts inside a tie group that began on page 1: the wider window holds all of it."""
    hits = [_raw(f"t{i:02d}", 1.0) for i in range(12, 0, -1)] + [_raw(f"z{i}", 0.5 - i / 100) for i in range(60)]
    wide, filled, wider, fill = _backend(hits)
    start, count = ties.window(10, 10)
    second = ties.page(hits[start : start + count], 10, 10, wider, fill, len(hits))
    assert [h.card_id for h in second] == ["t11", "t12"] + [f"z{i}" for i in range(8)]
    assert wide == [ties.window(10, 10, ties.FURTHER)] and filled == [["t11", "t12"]]


def test_a_window_that_ties_throughout_over_many_matches_is_not_widened() -> None:
    """Every hit of the window ties and more cards match than the wider window holds (a prefix
    over thousands of cards): no wider window would settle it, so none is asked for."""
    hits = [_raw(f"p{i:04d}", 1.0) for i in range(2000)]
    wide, filled, wider, fill = _backend(hits)
    start, count = ties.window(0, 10)
    top = ties.page(hits[start : start + count], 0, 10, wider, fill, len(hits))
    assert wide == [] and [h.card_id for h in top] == [f"p{i:04d}" for i in range(10)]
    assert ties.page(hits[start : start + count], 0, 10, wider, fill, 60) and wide == [ties.window(0, 10, ties.FURTHER)]
