"""The outbox feeds the index; a down index catches up; reindex rebuilds; updates stay bounded."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.indexing import IndexFeed
from archive.model import CardDraft, PageDraft
from search.backend import IndexUnavailable, SearchIndex
from search.elastic_index import ElasticIndex
from search.feed import apply_outbox, reindex
from search.service import run_search
from search.tantivy_index import TantivyIndex
from tests.archive.helpers import sha
from tests.search.conftest import TZ, Corpus


def _drain(corpus: Corpus, index: SearchIndex) -> int:
    applied = total = -1
    while applied:
        applied = apply_outbox(corpus.catalog, index, TZ)
        total += applied
    return total + 1


def _add_card(corpus: Corpus, key: str, text: str) -> str:
    batch = corpus.catalog.open_batch("/srv/inbox", "feed")
    row = corpus.catalog.record_input(batch, f"/srv/inbox/{key}.pdf", f"{key}.pdf", sha(key), 1)
    draft = CardDraft(journal="ВХ", kind="letter", source_sha256=sha(key), title=key, pages=[PageDraft(1, text, 0.9)])
    return corpus.catalog.register_card(row.id, draft).id


def test_the_outbox_feeds_the_index_and_updates_replace_documents(tmp_path: Path, empty_index: SearchIndex) -> None:
    corpus = Corpus(tmp_path)
    assert _drain(corpus, empty_index) >= len(corpus.ids)
    assert empty_index.count() == len(corpus.ids)
    assert corpus.catalog.outbox_pending() == []
    corpus.catalog.update_card(corpus.ids["memo"], {"title": "Записка о закупке ноутбуков"}, actor="clerk")
    assert _drain(corpus, empty_index) == 1
    hits = run_search(empty_index, "ноутбуков").hits
    assert [h["card"] for h in hits] == [corpus.ids["memo"]]
    assert empty_index.count() == len(corpus.ids)  # replaced, not added


def test_an_index_that_was_down_catches_up_and_nothing_is_lost(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path)
    pending = len(corpus.catalog.outbox_pending(limit=1000))

    def down() -> SearchIndex:
        return ElasticIndex("http://127.0.0.1:9/kartoteka", timeout=1)  # nothing listens on port 9

    feed = IndexFeed(corpus.catalog, down, TZ)
    with pytest.raises(IndexUnavailable, match="unavailable"):
        feed.step()
    assert len(corpus.catalog.outbox_pending(limit=1000)) == pending  # still waiting, not dropped
    index = TantivyIndex(tmp_path / "index")
    feed = IndexFeed(corpus.catalog, lambda: index, TZ)
    while feed.step():
        pass
    assert index.count() == len(corpus.ids)
    assert corpus.catalog.outbox_pending() == []


def test_the_feed_thread_keeps_going_while_the_index_is_busy(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path)
    index = TantivyIndex(tmp_path / "index")
    holder = TantivyIndex(tmp_path / "index")
    holder.upsert([])  # takes the writer lock, as a `kartoteka reindex` in another process would
    feed = IndexFeed(corpus.catalog, lambda: index, TZ)
    stop = threading.Event()
    thread = threading.Thread(target=feed.run, args=(stop,), daemon=True)
    thread.start()
    try:
        stop.wait(1.5)
        assert index.count() == 0 and corpus.catalog.outbox_pending()  # blocked, nothing lost
        holder.commit()  # gives the lock back
        for _ in range(100):
            if index.count() == len(corpus.ids):
                break
            stop.wait(0.2)
        assert index.count() == len(corpus.ids)
    finally:
        stop.set()
        thread.join(timeout=30)


def test_reindex_rebuilds_and_drops_documents_the_catalog_lacks(tmp_path: Path, empty_index: SearchIndex) -> None:
    corpus = Corpus(tmp_path)
    other = Corpus(tmp_path / "other")
    reindex(other.catalog, empty_index, TZ)  # documents of cards this catalog does not have
    ticks: list[int] = []
    totals = reindex(corpus.catalog, empty_index, TZ, batch=4, progress=ticks.append)
    assert totals.cards == len(corpus.ids) == corpus.catalog.count_cards() == sum(ticks)
    assert totals.removed == len(other.ids)
    assert set(empty_index.card_ids()) == set(corpus.ids.values())


def test_updating_the_same_cards_many_times_keeps_the_index_small(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path)
    for n in range(30):
        _add_card(corpus, f"extra-{n}", "Обычный текст письма о поставке товара. " * 40)
    index = TantivyIndex(tmp_path / "index")
    reindex(corpus.catalog, index, TZ)
    first = index.size_bytes()
    for _ in range(40):
        reindex(corpus.catalog, index, TZ)
    assert index.count() == len(corpus.ids) + 30
    assert index.size_bytes() <= 3 * first, (first, index.size_bytes())


def test_an_index_created_by_a_search_is_still_filled_by_the_service(tmp_path: Path, empty_index: SearchIndex) -> None:
    # `kartoteka search` before the service first ran (or after the index was deleted) creates
    # an empty index; the feed must still fill it from the catalog, whose outbox is long done.
    corpus = Corpus(tmp_path)
    _drain(corpus, TantivyIndex(tmp_path / "elsewhere"))  # the outbox is applied... to another index
    assert corpus.catalog.outbox_pending() == [] and empty_index.needs_rebuild
    feed = IndexFeed(corpus.catalog, lambda: empty_index, TZ)
    feed.step()
    assert empty_index.count() == len(corpus.ids)
    assert not empty_index.needs_rebuild


@pytest.mark.parametrize("backend", ["tantivy", "elastic"])
def test_a_card_registered_while_reindex_runs_stays_searchable(tmp_path: Path, backend: str) -> None:
    """A card registered behind reindex's read cursor, indexed by the feed meanwhile, was
    dropped at the end as «stale» (its outbox row done: nothing brought it back)."""
    from tests.search.conftest import drop_index, make_index

    corpus = Corpus(tmp_path)
    index = make_index(backend, tmp_path)
    try:
        reindex(corpus.catalog, index, TZ)
        _drain(corpus, index)
        added: list[str] = []
        calls = 0

        def register_meanwhile(n: int) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:  # after reindex read the first cards: the new one is not among them
                added.append(_add_card(corpus, "late", "Поздняя служебная записка о ремонте кровли."))
                _drain(corpus, index)  # the service's feed indexes it at once

        totals = reindex(corpus.catalog, index, TZ, batch=4, progress=register_meanwhile)
        assert added and totals.removed == 0
        assert [h["card"] for h in run_search(index, "кровли").hits] == added
        assert set(index.card_ids()) == set(corpus.catalog.card_ids())
    finally:
        drop_index(index)


def test_a_feed_applies_nothing_while_another_holds_the_index(tmp_path: Path) -> None:
    """Two feeds on one index (two `watch` processes, `watch` and `ingest`): one read a card, the
    other applied its deletion, the first wrote what it had read — a deleted card stayed
    searchable with no outbox row left to put it right. Now one applies at a time."""
    from contextlib import contextmanager
    from collections.abc import Iterator

    corpus = Corpus(tmp_path)
    index = TantivyIndex(tmp_path / "index")
    busy = threading.Lock()

    @contextmanager
    def exclusive() -> Iterator[bool]:
        got = busy.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                busy.release()

    first, second = IndexFeed(corpus.catalog, lambda: index, TZ, exclusive), IndexFeed(corpus.catalog, lambda: index, TZ, exclusive)
    with busy:  # the first feed is applying
        assert second.step() == 0 and index.count() == 0
    while first.step():
        pass
    assert index.count() == len(corpus.ids) and corpus.catalog.outbox_pending() == []
    second.close()
    first.close()


def test_the_services_feed_is_exclusive_across_processes(tmp_path: Path) -> None:
    from app.indexing import feed_of
    from app.pipeline import group_lock
    from app.services import Services
    from app.settings import Settings

    services = Services(Settings(data_dir=tmp_path / "data"))
    try:
        feed = feed_of(services)
        with group_lock("index-feed", services) as held:  # another process's feed, on its own handle
            assert held
            with feed.exclusive() as mine:
                assert not mine
        with feed.exclusive() as mine:
            assert mine
    finally:
        services.close()
