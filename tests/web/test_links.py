"""The search page's URLs: facets add a filter of the query language; sorting and paging keep it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from workers.web.links import PER_PAGE, SearchState, facet_filter


def _params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_a_facet_adds_a_filter_and_quotes_values_with_spaces() -> None:
    assert facet_filter("kind", "payment_invoice") == "kind:payment_invoice"
    assert facet_filter("correspondent", 'ТОО «Альфа "Строй"»') == 'correspondent:"ТОО «Альфа Строй »"'
    assert facet_filter("year", "2026") == "year:2026"
    state = SearchState("договор аренды", "newest", 3)
    narrowed = state.narrowed("journal", "ВХ")
    assert _params(narrowed) == {"q": ["договор аренды journal:ВХ"], "sort": ["newest"]}  # back to page 1
    assert SearchState("договор journal:ВХ").has_filter("journal", "ВХ")


def test_the_default_sort_is_left_out_of_the_url() -> None:
    assert SearchState("счёт").url() == "/ui/search?q=%D1%81%D1%87%D1%91%D1%82"
    assert SearchState("счёт").effective_sort == "relevance"
    assert SearchState("").effective_sort == "newest" and SearchState("").url() == "/ui/search"
    assert _params(SearchState("счёт", "relevance", 2).url()) == {"q": ["счёт"], "page": ["2"]}
    assert _params(SearchState("счёт").sorted_by("oldest")) == {"q": ["счёт"], "sort": ["oldest"]}


def test_paging_shows_the_ends_and_the_neighbourhood_and_stops_at_the_window() -> None:
    state = SearchState("x", page=7)
    assert state.pages(total=1000) == [1, None, 5, 6, 7, 8, 9, None, 50]
    assert SearchState("x").pages(total=45) == [1, 2, 3]
    assert state.last_page(total=1_000_000) == 10_000 // PER_PAGE
    assert SearchState("x").last_page(total=0) == 1
