"""Dictionary lemmas and function words, on both backends (issue 14).

Snowball stems «устав» to «уста» but «уставом» to «устав»; lemmas put every form of a word on
one term, and a form that belongs to two words on both. Function words in a query never empty a
result; in a phrase they still must stand where they stand.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive.catalog import Catalog
from archive.db import make_engine, upgrade
from archive.model import CardDraft, PageDraft
from search.feed import reindex
from search.service import SearchResponse, run_search
from tests.archive.helpers import TickingClock, sha
from tests.search.conftest import BACKENDS, TZ, drop_index, make_index

FAMILIES = {
    "устав": ["Устав", "уставом", "устава"],
    "заявление": ["заявление", "заявлением", "ЗАЯВЛЕНИЯ"],
    "счёт": ["счёт", "счета", "счетов"],
    "доверенность": ["доверенность", "доверенностью", "доверенности"],
    "акт": ["акт", "акта", "актом"],
}
#: key → (title, page text)
CARDS: dict[str, tuple[str, str]] = {
    **{
        f"{family}-{i}": ("Документ", f"В приложении {form} без подписи.")
        for family, forms in FAMILIES.items()
        for i, form in enumerate(forms)
    },
    "charter": ("Устав общества", "УСТАВ общества с ограниченной ответственностью «Омега»."),
    "tired": ("Служебная записка", "Сотрудники устали и просят перерыв."),
    "leave": ("Заявление о предоставлении отпуска", "Прошу предоставить ежегодный оплачиваемый отпуск с 1 июля."),
    "steel": ("Накладная", "Поставка: листы стали марки 09Г2С."),
    "ocr": ("Учредительный договор", "Товарищество с ограпичениой ответственностью «Дельта» в лице директора."),
    "swap": ("Договор поставки", "Стороны заключили договор о поставке."),
}


class Indexed:
    """The cards above, indexed on both backends; ``keys`` maps card ids back to keys."""

    def __init__(self, root: Path) -> None:
        engine = make_engine(f"sqlite:///{root / 'catalog.db'}")
        upgrade(engine)
        clock = TickingClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
        catalog = Catalog(engine, clock=clock, tz=TZ)
        batch = catalog.open_batch("/srv/inbox", "lemmas")
        self.keys: dict[str, str] = {}
        for n, (key, (title, text)) in enumerate(CARDS.items()):
            clock.set(datetime(2026, 2, 1, tzinfo=timezone.utc) + timedelta(hours=n))
            row = catalog.record_input(batch, f"/srv/inbox/{key}.pdf", f"{key}.pdf", sha(key), 10)
            draft = CardDraft(journal="ВХ", kind="letter", source_sha256=sha(key), title=title, pages=[PageDraft(1, text, 0.9)])
            self.keys[catalog.register_card(row.id, draft).id] = key
        self.indexes = {backend: make_index(backend, root) for backend in BACKENDS}
        for index in self.indexes.values():
            reindex(catalog, index, TZ)

    def search(self, backend: str, query: str) -> SearchResponse:
        return run_search(self.indexes[backend], query, limit=50)

    def found(self, backend: str, query: str) -> set[str]:
        response = self.search(backend, query)
        assert response.total == len(response.hits)
        return {self.keys[h["card"]] for h in response.hits}


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    indexed = Indexed(tmp_path_factory.mktemp("lemmas"))
    yield indexed
    for index in indexed.indexes.values():
        drop_index(index)


def _family(name: str) -> set[str]:
    return {f"{name}-{i}" for i in range(len(FAMILIES[name]))}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("family", "form"), [(f, form) for f, forms in FAMILIES.items() for form in forms])
def test_any_form_finds_every_form(cards: Indexed, backend: str, family: str, form: str) -> None:
    found = cards.found(backend, form) - {"charter", "tired", "leave", "steel", "ocr", "swap"}
    assert found == _family(family)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_charter_headed_устав_is_found_by_уставом_общества(cards: Indexed, backend: str) -> None:
    assert cards.found(backend, "уставом общества") == {"charter"}
    assert cards.found(backend, "устава") == _family("устав") | {"charter"}
    # «устав» is also a form of «устать»: the bare form finds the tired, «уставом» does not
    assert "tired" in cards.found(backend, "устав") and "tired" not in cards.found(backend, "уставом")
    # «стали»: of «стать» and of «сталь»; «сталь» finds the steel
    assert cards.found(backend, "сталь") == {"steel"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_phrases_match_other_forms_of_ambiguous_words(cards: Indexed, backend: str) -> None:
    # «УСТАВ общества» stands in the index as «устать общество»
    assert cards.found(backend, '"уставом общества"') == {"charter"}
    assert cards.found(backend, '"устав общества"') == {"charter"}
    assert cards.found(backend, '"общества устав"') == set()


@pytest.mark.parametrize("backend", BACKENDS)
def test_function_words_never_empty_a_result(cards: Indexed, backend: str) -> None:
    assert cards.found(backend, "заявлением отпуске") == {"leave"}
    assert cards.found(backend, "заявлением об отпуске") == {"leave"}
    assert cards.found(backend, "заявление на отпуск и") == {"leave"}
    assert cards.found(backend, "об отпуске для") == {"leave"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_function_word_in_a_phrase_still_must_stand_in_place(cards: Indexed, backend: str) -> None:
    assert cards.found(backend, '"заявление о предоставлении"') == {"leave"}
    assert cards.found(backend, '"заявление об отпуске"') == set()
    assert cards.found(backend, '"заявление на предоставлении"') == set()


@pytest.mark.parametrize("backend", BACKENDS)
def test_function_words_add_to_the_score_but_select_nothing(cards: Indexed, backend: str) -> None:
    plain = cards.search(backend, "отпуск")
    with_word = cards.search(backend, "отпуск о")
    assert [h["card"] for h in plain.hits] == [h["card"] for h in with_word.hits]
    assert with_word.hits[0]["score"] > plain.hits[0]["score"]  # «о» stands in the leave's title
    # only function words: they are required
    assert cards.found(backend, "о") == {"leave", "swap"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_highlights_mark_the_forms_a_lemma_found(cards: Indexed, backend: str) -> None:
    (hit,) = cards.search(backend, "уставом общества").hits
    snippets = " ".join(h["snippet"] for h in hit["highlights"])
    assert "<mark>Устав</mark> <mark>общества</mark>" in snippets
    assert "<mark>УСТАВ</mark> <mark>общества</mark>" in snippets


QUERIES = [
    "устав", "уставом общества", '"уставом общества"', "счетов", "стали", "заявлением об отпуске",
    "доверенностью OR актом", "отпуск о", "о",
]


def test_both_backends_give_the_same_hits_and_scores(cards: Indexed) -> None:
    for query in QUERIES:
        a, b = (cards.search(backend, query) for backend in BACKENDS)
        assert a.total == b.total, query
        assert {h["card"] for h in a.hits} == {h["card"] for h in b.hits}, query
        scores_a = sorted(h["score"] for h in a.hits)
        scores_b = sorted(h["score"] for h in b.hits)
        assert scores_a == pytest.approx(scores_b, rel=0.02), query
        assert {h["card"]: h["highlights"] for h in a.hits} == {h["card"]: h["highlights"] for h in b.hits}
