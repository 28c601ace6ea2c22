"""Search the archive and rebuild the index: what ``kartoteka search``/``reindex`` and the API call.

``SearchParams`` holds a query in the query language plus the filters a form or the command
line gives as separate options; both reach the index through ``search`` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from app.services import Services
from search.backend import Sort
from search.query import DateRange, FieldFilter, QueryError, normalize_keyword
from search.service import SearchResponse, run_search

if TYPE_CHECKING:
    from search.feed import ReindexTotals

__all__ = ["SearchParams", "reindex", "search"]

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class SearchParams:
    query: str = ""
    kind: str | None = None
    journal: str | None = None
    correspondent: str | None = None
    #: registration or document number; a trailing ``*`` makes it a prefix
    number: str | None = None
    status: str | None = None
    #: registered on or after / on or before
    start: date | None = None
    end: date | None = None
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = 10
    facets: bool = False

    def filters(self) -> tuple[tuple[FieldFilter, ...], tuple[DateRange, ...]]:
        """The filters and date range the options ask for; QueryError for one that cannot be."""
        found = []
        for name in ("kind", "journal", "number", "status", "correspondent"):
            _check_text(name, getattr(self, name))
        for name in ("kind", "journal", "number", "status"):
            value = getattr(self, name)
            if value:
                found.append(FieldFilter(name, normalize_keyword(value.rstrip("*")), prefix=value.endswith("*")))
        if self.correspondent:
            from search.analysis import analyze_text

            words = analyze_text(self.correspondent)
            if not words:
                raise QueryError(f"correspondent {self.correspondent!r} has no word to look for")
            found.append(FieldFilter("correspondent", words))
        if self.start and self.end and self.start > self.end:
            raise QueryError(f"the range {self.start}..{self.end} ends before it starts")
        ranges = (DateRange("registered", self.start, self.end),) if self.start or self.end else ()
        return tuple(found), ranges


def _check_text(name: str, value: str | None) -> None:
    """Refuse text that arrived in another encoding: its bytes became U+FFFD (an HTTP query
    string) or lone surrogates (a command-line argument), which analysis drops, so a query of
    them would find every card."""
    if value and ("\ufffd" in value or any("\ud800" <= ch <= "\udfff" for ch in value)):
        raise QueryError(f"{name} is not UTF-8 text ({value!r}): send it encoded as UTF-8")


def search(services: Services, params: SearchParams) -> SearchResponse:
    """One page of hits with highlights (and facets when asked); QueryError for a bad request."""
    if params.page < 1 or not 1 <= params.per_page <= MAX_PER_PAGE:
        raise QueryError(f"pages start at 1 and hold 1 to {MAX_PER_PAGE} hits")
    _check_text("the query", params.query)
    filters, ranges = params.filters()
    index = services.open_index()
    try:
        return run_search(
            index,
            params.query,
            filters=filters,
            ranges=ranges,
            sort=params.sort,
            offset=(params.page - 1) * params.per_page,
            limit=params.per_page,
            facets=params.facets,
        )
    finally:
        index.close()


def reindex(
    services: Services, *, on_total: Callable[[int], None] = lambda n: None, progress: Callable[[int], None] | None = None
) -> ReindexTotals:
    """Rebuild the search index from the catalog in batches; ``progress(n)`` after each batch."""
    from search.feed import reindex as rebuild  # the catalog's imports: not for every search

    catalog = services.catalog
    on_total(catalog.count_cards())
    index = services.open_index()
    try:
        return rebuild(catalog, index, services.tz, progress=progress)
    finally:
        index.close()
