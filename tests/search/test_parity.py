"""The parity suite: the same corpus on tantivy and on Elasticsearch gives the same answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from search.backend import SearchIndex
from search.feed import reindex
from search.service import SearchResponse, run_search
from tests.search.conftest import TZ, Corpus, drop_index, make_index

QUERIES = [
    "договор", "договора аренды", "счёт", "оборудования", '"купли-продажи"', "догов*", "обор* договор",
    "laptops OR компьютер", "договор -черновик", "Новиков Н.К.", "құжат", "тенге", "invoice",
    "kind:payment_invoice", "journal:ВХ оплата", 'correspondent:"Альфа-Строй"', "registered:2026-02..2026-04",
    "date:2024", "number:ВХ-2026*", "", "передаёт помещение", "12 марта 2024",
]


@pytest.fixture(scope="module")
def both(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchIndex, SearchIndex]]:
    where = tmp_path_factory.mktemp("parity")
    embedded, elastic = make_index("tantivy", where), make_index("elastic", where)
    for index in (embedded, elastic):
        reindex(corpus.catalog, index, TZ)
    yield embedded, elastic
    drop_index(embedded)
    drop_index(elastic)


def _ranked(response: SearchResponse) -> list[frozenset[str]]:
    """Hits grouped by equal score (ties may come in any order), best group first."""
    groups: list[tuple[float, set[str]]] = []
    for hit in response.hits:
        if groups and abs(groups[-1][0] - hit["score"]) <= 1e-3 * max(1.0, hit["score"]):
            groups[-1][1].add(hit["card"])
        else:
            groups.append((hit["score"], {hit["card"]}))
    return [frozenset(g) for _, g in groups]


@pytest.mark.parametrize("query", QUERIES)
def test_same_hits_same_order_same_counts(both: tuple[SearchIndex, SearchIndex], query: str) -> None:
    embedded, elastic = both
    a = run_search(embedded, query, limit=20, facets=True)
    b = run_search(elastic, query, limit=20, facets=True)
    assert a.total == b.total
    assert _ranked(a) == _ranked(b)
    assert [h["score"] for h in a.hits] == pytest.approx([h["score"] for h in b.hits], rel=0.02)
    assert a.facets == b.facets
    assert {h["card"]: h["highlights"] for h in a.hits} == {h["card"]: h["highlights"] for h in b.hits}


@pytest.mark.parametrize("query", ["", "договор", "date:2024"])
def test_facets_counted_apart_when_there_are_too_many_kind_journal_year_triples(
    both: tuple[SearchIndex, SearchIndex], query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Elasticsearch counts kind, journal and year from one joint keyword; with more distinct
    triples than it fetches, it counts them apart: the facets stay exact either way."""
    import search.elastic_index as elastic_module

    embedded, elastic = both
    joint = run_search(elastic, query, facets=True)
    assert max(len(joint.facets[name]) for name in ("kind", "journal", "year")) > 1  # more than one triple
    monkeypatch.setattr(elastic_module, "_JOINT_FETCH", 1)
    apart = run_search(elastic, query, facets=True)
    assert apart.facets == joint.facets == run_search(embedded, query, facets=True).facets
    assert apart.total == joint.total
