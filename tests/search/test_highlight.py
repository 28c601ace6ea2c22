"""Highlights: the fast matcher marks exactly the words full analysis would."""

from __future__ import annotations

import random
import unicodedata

import pytest

from search.analysis import fold, lemmas, tokens
from search.highlight import _Matcher, highlights
from search.query import Marks, parse_query
from tests.search.corpus import DOCS

TEXTS = [page for doc in DOCS for page in doc.pages] + [
    # decomposed letters (a PDF's text layer, a Mac) and stress marks: words all the same
    unicodedata.normalize("NFD", "Заявление о приёме на работу; пожалуйста, счёт и договор йогурта"),
    "Догово\u0301р и за\u0301мок; уста\u0301в",
    "We supply goods; supplies and the supplier supplied them. Happy, happiness, dying.",
    "Начальник отдела Новиков H.K. и Hовикова; ДОГОВОР № 45/12-п; счёт, счета, СЧЕТОВ.",
    "Құжаттардың көшірмелері, құжатты, шарттармен; TAX invoice for Gamma LLP",
    "Устав общества; уставом, устава. Люди устали, человек шёл; лучше, хороший. Стали и сталь.",
]


def _exhaustive(text: str, terms: set[str], prefixes: tuple[str, ...]) -> list[tuple[int, int]]:
    return [(t.start, t.end) for t in tokens(text) if set(lemmas(t.folded)) & terms or t.folded.startswith(prefixes)]


def _terms(query: str) -> set[str]:
    return set(parse_query(query).marks().terms)


@pytest.mark.parametrize("seed", range(40))
def test_the_fast_matcher_marks_what_full_analysis_marks(seed: int) -> None:
    rng = random.Random(seed)
    words = [w for text in TEXTS for w in fold(text)]
    terms = {rng.choice(lemmas(rng.choice(words))) for _ in range(rng.randint(1, 4))}
    prefixes = tuple(w[: rng.randint(1, len(w))] for w in (rng.choice(words) for _ in range(rng.randint(0, 2))))
    matcher = _Matcher(Marks(frozenset(terms), prefixes))
    for text in TEXTS:
        assert [(t.start, t.end) for t in matcher(text)] == _exhaustive(text, terms, prefixes), (terms, prefixes)


@pytest.mark.parametrize(
    "query",
    ["dying", "supply", "happy", "skies", "only", "счёт", "Новиков", "шарттар", "H.K.", "человек", "хороший", "идти", "устав"],
)
def test_irregular_stems_and_lemmas_mark_like_full_analysis(query: str) -> None:
    terms = _terms(query)
    for text in TEXTS:
        assert [(t.start, t.end) for t in _Matcher(Marks(frozenset(terms)))(text)] == _exhaustive(text, terms, ())


def test_lemmas_mark_forms_that_do_not_start_like_the_query_word() -> None:
    text = TEXTS[-1]
    marked = [text[t.start : t.end] for t in _Matcher(parse_query("человек").marks())(text)]
    assert marked == ["Люди", "человек"]
    marked = [text[t.start : t.end] for t in _Matcher(parse_query("уставом").marks())(text)]
    assert marked == ["Устав", "уставом", "устава"]  # not «устали»: «уставом» is only the noun


def test_english_stems_that_are_not_prefixes_of_their_words_still_mark() -> None:
    stored = {"title": "", "pages": [TEXTS[-4]]}
    (page,) = highlights(stored, parse_query("supply").marks())
    assert page.snippet.count("<mark>") == 3  # supply, supplies, supplied (not supplier)
    assert "<mark>supply</mark>" in page.snippet


def test_pages_with_more_matched_words_come_first_and_name_their_page() -> None:
    stored = {"title": "Договор", "pages": ["Ничего нет.", "договор и договору", "Договор аренды, договора, аренду"]}
    found = highlights(stored, parse_query("договор аренда").marks())
    assert [(h.field, h.page) for h in found] == [("title", None), ("page", 3), ("page", 2)]


def test_phrase_words_are_marked_only_where_they_stand_together() -> None:
    q = parse_query('"счёт на оплату" склад')
    text = "Счёт на оплату № 5. Товар на складе, оплату произвести на неделе. Выставлен счёт на\nоплату."
    (page,) = highlights({"pages": [text]}, q.marks())
    assert page.snippet.count("<mark>") == 7  # two phrases of three words, and «складе»
    assert "Товар на <mark>складе</mark>, оплату произвести на неделе" in page.snippet


def _fields(stored: dict[str, object], query: str) -> list[tuple[str, int | None]]:
    return [(h.field, h.page) for h in highlights(stored, parse_query(query).marks())]


def test_an_extracted_copy_of_a_card_field_is_not_shown_again() -> None:
    stored = {"correspondent": "ООО «Северный ветер»", "doc_number": "45/12-п",
              "fields": {"correspondent": "ООО «Северный ветер»", "number": "45/12-п", "bin": "180840013337"}}  # fmt: skip
    assert _fields(stored, "Северный ветер") == [("correspondent", None)]
    assert _fields(stored, "45/12-п") == [("doc_number", None)]
    # the same value under two names that are not copies of each other: shown once too
    stored = {"title": "Договор", "fields": {"bin": "180840013337", "inn": "180840013337"}}
    assert _fields(stored, "180840013337") == [("bin", None)]


def test_an_extracted_value_the_clerk_changed_on_the_card_still_shows_when_only_it_matches() -> None:
    stored = {"correspondent": "ТОО «Альфа-Строй»", "fields": {"correspondent": "ООО «Северный ветер»"}}
    assert _fields(stored, "Северный") == [("correspondent", None)]
    # ... but not beside the card's own field when both match
    stored = {"correspondent": "ТОО «Северный ветер»", "fields": {"correspondent": "ООО Северный ветер"}}
    found = highlights(stored, parse_query("Северный").marks())
    assert [h.snippet for h in found] == ["ТОО «<mark>Северный</mark> ветер»"]


def test_a_matching_page_keeps_a_place_however_many_card_fields_match() -> None:
    stored = {
        "registration_number": "ВХ-2026-000001",
        "title": "Письмо ООО «Север»",
        "correspondent": "ООО «Север»",
        "fields": {"address": "г. Астана, ул. Северная", "email": "sever@example.kz"},
        "pages": ["Ничего.", "ООО «Север» просит…"],
    }
    assert _fields(stored, "север*") == [("title", None), ("correspondent", None), ("page", 2)]
    assert _fields({**stored, "pages": []}, "север*") == [("title", None), ("correspondent", None), ("address", None)]
    assert [h.field for h in highlights(stored, parse_query("север*").marks(), limit=1)] == ["page"]
