"""Highlights: the fast matcher marks exactly the words full analysis would."""

from __future__ import annotations

import random

import pytest

from search.analysis import analyze, fold, stem, tokens
from search.highlight import _Matcher, highlights
from tests.search.corpus import DOCS

TEXTS = [page for doc in DOCS for page in doc.pages] + [
    "We supply goods; supplies and the supplier supplied them. Happy, happiness, dying.",
    "Начальник отдела Новиков H.K. и Hовикова; ДОГОВОР № 45/12-п; счёт, счета, СЧЕТОВ.",
    "Құжаттардың көшірмелері, құжатты, шарттармен; TAX invoice for Gamma LLP",
]


def _exhaustive(text: str, terms: set[str], prefixes: tuple[str, ...]) -> list[tuple[int, int]]:
    return [(t.start, t.end) for t in tokens(text) if stem(t.folded) in terms or t.folded.startswith(prefixes)]


@pytest.mark.parametrize("seed", range(40))
def test_the_fast_matcher_marks_what_full_analysis_marks(seed: int) -> None:
    rng = random.Random(seed)
    words = [w for text in TEXTS for w in fold(text)]
    terms = {stem(rng.choice(words)) for _ in range(rng.randint(1, 4))}
    prefixes = tuple(w[: rng.randint(1, len(w))] for w in (rng.choice(words) for _ in range(rng.randint(0, 2))))
    matcher = _Matcher(terms, prefixes)
    for text in TEXTS:
        assert [(t.start, t.end) for t in matcher(text)] == _exhaustive(text, terms, prefixes), (terms, prefixes)


@pytest.mark.parametrize("query", ["dying", "supply", "happy", "skies", "only", "счёт", "Новиков", "шарттар", "H.K."])
def test_irregular_stems_mark_like_full_analysis(query: str) -> None:
    terms = set(analyze(query))
    for text in TEXTS:
        assert [(t.start, t.end) for t in _Matcher(terms, ())(text)] == _exhaustive(text, terms, ())


def test_english_stems_that_are_not_prefixes_of_their_words_still_mark() -> None:
    stored = {"title": "", "pages": [TEXTS[-3]]}
    (page,) = highlights(stored, set(analyze("supply")), ())
    assert page.snippet.count("<mark>") == 3  # supply, supplies, supplied (not supplier)
    assert "<mark>supply</mark>" in page.snippet


def test_pages_with_more_matched_words_come_first_and_name_their_page() -> None:
    stored = {"title": "Договор", "pages": ["Ничего нет.", "договор и договору", "Договор аренды, договора, аренду"]}
    found = highlights(stored, set(analyze("договор аренда")), ())
    assert [(h.field, h.page) for h in found] == [("title", None), ("page", 3), ("page", 2)]


def test_phrase_words_are_marked_only_where_they_stand_together() -> None:
    from search.query import parse_query

    q = parse_query('"счёт на оплату" склад')
    text = "Счёт на оплату № 5. Товар на складе, оплату произвести на неделе. Выставлен счёт на\nоплату."
    (page,) = highlights({"pages": [text]}, *q.positive_terms(), q.phrases())
    assert page.snippet.count("<mark>") == 7  # two phrases of three words, and «складе»
    assert "Товар на <mark>складе</mark>, оплату произвести на неделе" in page.snippet
