"""Typo tolerance (``word~`` and the automatic second pass), on both backends (issue 14).

Photographed pages carry words like «ограпичениой» for «ограниченной», and clerks mistype:
``word~`` finds words within 1 edit (2 for words of 8 letters or more), a swap of neighbours
counting as one and no prefix fixed; a query that finds nothing is run again with tolerance on
every word, with a note. Both backends must find the same cards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from search.analysis import corrections
from search.highlight import marked_indices
from search.query import Word, parse_query
from tests.search.conftest import BACKENDS, drop_index
from tests.search.test_lemmas import Indexed


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    indexed = Indexed(tmp_path_factory.mktemp("typos"))
    yield indexed
    for index in indexed.indexes.values():
        drop_index(index)


CONTRACTS = {"ocr", "swap"}  # «Учредительный договор», «Договор поставки» … «заключили договор»


@pytest.mark.parametrize("backend", BACKENDS)
def test_tilde_finds_ocr_damage_and_the_correct_word(cards: Indexed, backend: str) -> None:
    # «ограниченой» is 1 edit from «ограниченной» (the charter), 2 from «ограпичениой» (OCR)
    assert cards.found(backend, "ограниченой~") == {"charter", "ocr"}
    assert cards.found(backend, "ограниченной") == {"charter"}  # exact: no tolerance
    assert cards.found(backend, "ограниченой~1") == {"charter"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_transpositions_cost_one_and_no_prefix_is_fixed(cards: Indexed, backend: str) -> None:
    assert cards.found(backend, "договро~") == CONTRACTS  # «ро» for «ор»: one edit
    assert cards.found(backend, "цоговор~") == CONTRACTS  # the first letter wrong
    assert cards.found(backend, "дговоро~") == set()  # two edits in a 7-letter word


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_query_that_finds_nothing_is_retried_with_tolerance_and_says_so(cards: Indexed, backend: str) -> None:
    response = cards.search(backend, "ограниченой ответственностью")
    assert {cards.keys[h["card"]] for h in response.hits} == {"charter", "ocr"}
    assert response.close_matches == "ограниченой~ ответственностью~"
    assert response.as_json()["notes"] == ["no exact matches; showing close matches for: ограниченой~ ответственностью~"]
    exact = cards.search(backend, "ограниченной ответственностью")
    assert exact.all_notes() == () and exact.close_matches is None
    assert {cards.keys[h["card"]] for h in exact.hits} == {"charter"}
    nothing = cards.search(backend, "вертолёт")
    assert nothing.total == 0 and nothing.all_notes() == ()


@pytest.mark.parametrize("backend", BACKENDS)
def test_typo_matches_are_highlighted(cards: Indexed, backend: str) -> None:
    response = cards.search(backend, "ограниченой~")
    ocr = next(h for h in response.hits if cards.keys[h["card"]] == "ocr")
    assert "<mark>ограпичениой</mark>" in ocr["highlights"][0]["snippet"]
    retried = cards.search(backend, "довренность")  # mistyped: the second pass finds the family
    assert retried.total == 3 and retried.close_matches == "довренность~"
    assert all("<mark>доверенност" in h["highlights"][0]["snippet"] for h in retried.hits)


def test_the_card_page_marks_typo_matches_too() -> None:
    marks = parse_query("ограниченой~").marks()
    assert marked_indices(["с", "ограпичениой", "ограниченной", "огранка"], marks) == {1, 2}


QUERIES = ["ограниченой~", "договро~", "цоговор~", "ограниченой ответственностью", "довренность", "акт~", "счёт~2", "акт вертолёта"]


@pytest.mark.parametrize("query", QUERIES)
def test_both_backends_find_the_same_cards(cards: Indexed, query: str) -> None:
    a, b = (cards.search(backend, query) for backend in BACKENDS)
    assert a.total == b.total > 0
    assert [h["card"] for h in a.hits] == [h["card"] for h in b.hits] or {h["card"] for h in a.hits} == {
        h["card"] for h in b.hits
    }
    assert sorted(h["score"] for h in a.hits) == pytest.approx(sorted(h["score"] for h in b.hits), rel=0.02)
    assert (a.notes, a.close_matches, a.missing) == (b.notes, b.close_matches, b.missing)
    assert {h["card"]: h["highlights"] for h in a.hits} == {h["card"]: h["highlights"] for h in b.hits}


def test_a_mistyped_word_the_dictionary_lacks_is_corrected_to_dictionary_words() -> None:
    assert corrections("довереность") == ("доверенность",)  # a letter dropped
    assert corrections("заявленим") == ("заявление",)
    assert "договор" in corrections("даговором")  # a letter changed
    assert corrections("доверенность") == () and corrections("ООО") == ()  # known, too short


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_second_pass_finds_every_form_of_the_corrected_word_scored_as_words(cards: Indexed, backend: str) -> None:
    # «довереность» reaches «доверенностью» (two edits: not within ``~``) through the correction
    response = cards.search(backend, "довереность")
    assert response.close_matches == "довереность~"
    assert {cards.keys[h["card"]] for h in response.hits} == {"доверенность-0", "доверенность-1", "доверенность-2"}
    tolerant = parse_query("довереность").tolerant()
    assert tolerant is not None and Word(("доверенность",), "довереность") in tolerant.must[0].clauses


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_word_no_card_contains_is_left_out_and_named(cards: Indexed, backend: str) -> None:
    # «вертолёт» is nowhere, not even one edit away: the query gives the acts, and says why
    response = cards.search(backend, "акт вертолёта")
    assert {cards.keys[h["card"]] for h in response.hits} == cards.found(backend, "акт") != set()
    assert response.missing == ("вертолета",) and response.close_matches is None
    assert response.as_json()["notes"] == ["no card contains вертолета; showing results for the other words"]
    assert response.as_json()["missing"] == ["вертолета"]
    # a left-out word and a mistyped one: the rest is searched tolerantly, both notes
    both = cards.search(backend, "вертолёта довренность")
    assert both.missing == ("вертолета",) and both.close_matches == "довренность~" and both.total == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_words_that_are_there_but_never_together_still_find_nothing(cards: Indexed, backend: str) -> None:
    apart = cards.search(backend, "отпуск стали")  # a leave application; a waybill for steel
    assert apart.total == 0 and apart.missing == () and apart.all_notes() == ()
    phrase = cards.search(backend, '"красный вертолёт" акт')  # a quoted phrase is never left out
    assert phrase.total == 0 and phrase.missing == ()
    alone = cards.search(backend, "вертолёт")  # nothing would be left
    assert alone.total == 0 and alone.missing == ()
