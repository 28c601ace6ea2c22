"""What a clerk gets from a search, on both backends (each test runs on tantivy and Elasticsearch)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive.catalog import Catalog
from archive.db import make_engine, upgrade
from archive.model import CardDraft, ExtractedField, PageDraft
from search.backend import SearchIndex
from search.feed import reindex
from search.query import QueryError
from search.service import run_search
from tests.archive.helpers import TickingClock, sha
from tests.search.conftest import BACKENDS, TZ, Corpus, drop_index, make_index
from tests.search.corpus import DOCS


def found(index: SearchIndex, corpus: Corpus, query: str, **options: object) -> list[str]:
    response = run_search(index, query, limit=50, **options)  # type: ignore[arg-type]
    assert response.total == len(response.hits)
    return [corpus.keys[h["card"]] for h in response.hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("договора", {"lease", "sale", "act", "draft"}),  # inflected forms of «договор»
        ("договорами", {"lease", "sale", "act", "draft"}),
        ("счета", {"invoice", "invoices"}),  # «счёт», «счетов», «СЧЁТ»
        ("счёт", {"invoice", "invoices"}),
        ("Новиков Н.К.", {"memo"}),  # the page has Latin H and K from OCR
        ("Hовиков", {"memo"}),  # a Latin H typed (or pasted) into the query
        ("laptop printers", {"order_en"}),  # English stemming
        ("құжат", {"kaz"}),  # Kazakh: «Құжаттардың» on the page
        ("өтініштер", {"kaz"}),
        ("шарт", {"kaz"}),  # «Шарттың»
        ('"купли-продажи оборудования"', {"sale"}),  # a phrase (the act has the words apart)
        ("laptops OR компьютер", {"order_en", "memo"}),
        ("договор -черновик", {"lease", "sale", "act"}),
        ('договор -"продлении договора"', {"lease", "sale", "act"}),
        ("догов*", {"lease", "sale", "act", "draft"}),
        ("45/12-п", {"memo"}),
        ("kind:payment_invoice", {"invoice", "invoices"}),
        ("journal:вх договор", {"lease", "sale", "act"}),  # case-insensitive journal
        ("number:45/12-п", {"memo"}),
        ("number:77-кп", {"sale"}),
        ('correspondent:"Альфа-Строй"', {"lease", "invoice", "draft"}),
        ("correspondent:бета", {"sale", "act"}),
        ("registered:2026-04-01..2026-04-30", {"invoice", "invoices"}),
        ("registered:2025", {"act"}),
        ("date:2024 договор", {"lease", "sale", "act"}),
        ("registered:..2026-02-01", {"lease", "act"}),
        ("lease@example.kz", {"lease"}),  # extracted fields are searchable
    ],
)
def test_queries_find_what_the_clerk_means(indexed: SearchIndex, corpus: Corpus, query: str, expected: set[str]) -> None:
    assert set(found(indexed, corpus, query)) == expected


def test_registration_number_prefix_and_status_filters(indexed: SearchIndex, corpus: Corpus) -> None:
    assert set(found(indexed, corpus, "number:ВХ-2026*")) == {"lease", "sale", "invoice", "order_en"}
    assert set(found(indexed, corpus, "number:ВХ-2025*")) == {"act"}
    assert len(found(indexed, corpus, "status:registered")) == len(corpus.ids)
    assert found(indexed, corpus, 'status:"needs review"') == []


def test_an_empty_query_lists_everything_newest_first_and_oldest_on_request(indexed: SearchIndex, corpus: Corpus) -> None:
    newest = found(indexed, corpus, "")
    assert newest[0] == "draft" and newest[-1] == "act" and len(newest) == len(corpus.ids)
    assert found(indexed, corpus, "", sort="oldest") == newest[::-1]
    assert found(indexed, corpus, "договор", sort="newest") == ["draft", "sale", "lease", "act"]


def test_relevance_puts_the_card_that_says_it_most_first(indexed: SearchIndex, corpus: Corpus) -> None:
    # The lease says «договор» in its title and on both pages; the act only once, on its page.
    hits = found(indexed, corpus, "договор аренды")
    assert hits[0] == "lease" and set(hits) == {"lease", "draft"}


def test_pages_cover_every_hit_once(indexed: SearchIndex, corpus: Corpus) -> None:
    seen: list[str] = []
    for offset in range(0, 12, 2):
        response = run_search(indexed, "", sort="newest", offset=offset, limit=2)
        assert response.total == len(corpus.ids)
        seen += [h["card"] for h in response.hits]
    assert len(seen) == len(set(seen)) == len(corpus.ids)


def test_highlights_mark_the_matched_words_and_name_the_page(indexed: SearchIndex, corpus: Corpus) -> None:
    response = run_search(indexed, "арендная плата", limit=5)
    lease = next(h for h in response.hits if corpus.keys[h["card"]] == "lease")
    page = next(h for h in lease["highlights"] if h["field"] == "page")
    assert page["page"] == 2
    assert "<mark>Арендная</mark> <mark>плата</mark>" in page["snippet"]
    memo = run_search(indexed, "Новиков", limit=5).hits[0]
    assert "<mark>Новиков</mark>" in memo["highlights"][0]["snippet"]
    title = run_search(indexed, "догов*", limit=10).hits
    assert all("<mark>" in h["highlights"][0]["snippet"] for h in title)
    # Text from the document is escaped: a snippet is safe to show as HTML.
    assert all("<" not in s.replace("<mark>", "").replace("</mark>", "") for h in title for s in [h["highlights"][0]["snippet"]])


def test_facets_count_hits_by_kind_journal_year_and_correspondent(indexed: SearchIndex) -> None:
    facets = run_search(indexed, "", facets=True).facets
    assert facets["kind"][:2] == [("letter", 2), ("payment_invoice", 2)]
    assert facets["journal"][0] == ("ВХ", 5)
    assert dict(facets["year"]) == {"2026": 8, "2025": 1}
    assert facets["correspondent"][0] == ("ТОО «Альфа-Строй»", 3)
    narrowed = run_search(indexed, "договор", facets=True).facets
    assert dict(narrowed["kind"]) == {"lease_contract": 1, "sales_contract": 1, "acceptance_act": 1, "letter": 1}


EVERY_CARD = {doc.key for doc in DOCS}
CONTRACT_WORDS = {"lease", "sale", "act", "draft"}  # the cards that say «договор» in some form


@pytest.mark.parametrize(
    ("query", "expected", "note"),
    [
        ('"купли-продажи оборудования', {"sale"}, None),  # an unclosed quote closes at the end
        ('"unclosed phrase', set(), None),  # ... and is a phrase: no card has these words
        ("order:laptops", {"order_en"}, "unknown field 'order': searched as words"),
        ("foo:bar", set(), "unknown field 'foo': searched as words"),
        ("OR", EVERY_CARD, None),  # a stray OR is ignored: no words left, every card
        ("договор OR", CONTRACT_WORDS, None),
        ("OR договор", CONTRACT_WORDS, None),
        ("-", EVERY_CARD, None),  # a stray minus is ignored
        ("договор -", CONTRACT_WORDS, None),
        ("kind:", EVERY_CARD, None),  # a filter without a value is dropped, not searched for
        ("((договор", CONTRACT_WORDS, None),  # punctuation is not part of a word
        ("* ** -*", EVERY_CARD, None),  # a prefix of nothing is no clause
        ("\\", EVERY_CARD, None),
    ],
)
def test_malformed_queries_are_read_as_documented(
    indexed: SearchIndex, corpus: Corpus, query: str, expected: set[str], note: str | None
) -> None:
    response = run_search(indexed, query, limit=50)
    assert {corpus.keys[h["card"]] for h in response.hits} == expected
    assert response.total == len(expected)
    assert response.notes == ((note,) if note else ())


def test_unknown_fields_are_searched_as_words_with_a_note(indexed: SearchIndex, corpus: Corpus) -> None:
    response = run_search(indexed, "author:Новиков")
    # «author» is in no card: left out (and named), so Новиков's memo is found
    assert [corpus.keys[h["card"]] for h in response.hits] == ["memo"] and response.missing == ("author",)
    assert "unknown field 'author'" in response.notes[0]
    assert found(indexed, corpus, "купли:продажи") == found(indexed, corpus, "купли продажи")
    # a field name in Cyrillic: the same (it found nothing and said nothing)
    cyrillic = run_search(indexed, "автор:Новиков")
    assert [corpus.keys[h["card"]] for h in cyrillic.hits] == ["memo"] and "unknown field 'автор'" in cyrillic.notes[0]


@pytest.mark.parametrize("query", ["registered:2026-13-45", "date:yesterday", "registered:2026-05-01..2026-01-01"])
def test_unreadable_date_ranges_get_a_clear_message(indexed: SearchIndex, query: str) -> None:
    with pytest.raises(QueryError, match="registered|date"):
        run_search(indexed, query)


def test_paging_beyond_the_window_is_refused_with_a_reason(indexed: SearchIndex) -> None:
    with pytest.raises(QueryError, match="narrow"):
        run_search(indexed, "", offset=9_995, limit=10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_newest_first_holds_within_one_second(backend: str, tmp_path: Path) -> None:
    """A batch registers many cards a second: «newest first» lists them newest first, on both
    backends (the embedded index sorted by a date kept to the second: ties came out oldest first)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    upgrade(engine)
    clock = TickingClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    catalog = Catalog(engine, clock=clock, tz=TZ)
    batch = catalog.open_batch("/srv/inbox", "one-second")
    start = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)
    order = []
    for n in range(6):
        clock.set(start + timedelta(microseconds=150_000 * n - 1))  # the clock adds a second when read
        row = catalog.record_input(batch, f"/srv/inbox/m{n}.pdf", f"m{n}.pdf", f"{n:064x}", 10)
        draft = CardDraft(journal="ВХ", kind="letter", source_sha256=f"{n:064x}", title=f"Служебная записка {n}",
                          pages=[PageDraft(1, "служебная записка", 0.9)])  # fmt: skip
        order.append(catalog.register_card(row.id, draft).id)
    index = make_index(backend, tmp_path)
    try:
        reindex(catalog, index, TZ)
        newest = [h["card"] for h in run_search(index, "записка", sort="newest", limit=10).hits]
        oldest = [h["card"] for h in run_search(index, "записка", sort="oldest", limit=10).hits]
    finally:
        drop_index(index)
    assert newest == order[::-1] and oldest == order


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_value_the_card_holds_twice_is_highlighted_once_and_the_page_keeps_its_place(backend: str, tmp_path: Path) -> None:
    """The classifier copies the correspondent and the number into the card's own fields: one
    highlight each (they came twice and pushed the page that names where the words are out)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    upgrade(engine)
    catalog = Catalog(engine, clock=TickingClock(datetime(2026, 1, 1, tzinfo=timezone.utc)), tz=TZ)
    batch = catalog.open_batch("/srv/inbox", "copies")
    row = catalog.record_input(batch, "/srv/inbox/memo.pdf", "memo.pdf", sha("copies"), 10)
    draft = CardDraft(
        journal="ВХ", kind="service_memo", source_sha256=sha("copies"),
        title="Служебная записка № 45/12-п от 12.03.2024 — ООО «Северный ветер»",
        correspondent="ООО «Северный ветер»", doc_number="45/12-п",
        fields={"correspondent": ExtractedField("ООО «Северный ветер»", 1.0, 1),
                "number": ExtractedField("45/12-п", 0.9, 1)},
        pages=[PageDraft(1, "Служебная записка № 45/12-п. Поставщик: ООО «Северный ветер», Астана.", 0.9)],
    )  # fmt: skip
    catalog.register_card(row.id, draft)
    index = make_index(backend, tmp_path)
    try:
        reindex(catalog, index, TZ)
        by_name = run_search(index, "Северный ветер").hits[0]["highlights"]
        by_number = run_search(index, "45/12-п").hits[0]["highlights"]
    finally:
        drop_index(index)
    assert [(h["field"], h["page"]) for h in by_name] == [("title", None), ("correspondent", None), ("page", 1)]
    assert by_name[1]["snippet"] == "ООО «<mark>Северный</mark> <mark>ветер</mark>»"
    assert "ООО «<mark>Северный</mark> <mark>ветер</mark>», Астана" in by_name[2]["snippet"]
    assert [(h["field"], h["page"]) for h in by_number] == [("title", None), ("doc_number", None), ("page", 1)]
