"""The search page's URLs: the query lives in the URL (bookmarked, shared), facets narrow it by
adding a filter of the query language, sorting and paging keep it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from search.backend import MAX_WINDOW

__all__ = ["PER_PAGE", "SORTS", "SearchState", "facet_filter"]

PER_PAGE = 20
Sort = Literal["relevance", "newest", "oldest"]
SORTS: tuple[Sort, ...] = ("relevance", "newest", "oldest")
#: The query-language filter each facet narrows by.
FACET_FIELDS = {"kind": "kind", "journal": "journal", "year": "year", "correspondent": "correspondent"}


def facet_filter(facet: str, value: str) -> str:
    """``kind:payment_invoice``, ``correspondent:"ТОО «Альфа»"``: a value with spaces is quoted
    (the query language has no escape for ``"``, so one inside a value becomes a space)."""
    clean = " ".join(value.replace('"', " ").split())
    return f'{FACET_FIELDS[facet]}:"{clean}"' if " " in clean or not clean else f"{FACET_FIELDS[facet]}:{clean}"


@dataclass(frozen=True)
class SearchState:
    """The search a page shows: query, sorting and page."""

    query: str = ""
    sort: Sort | None = None
    page: int = 1
    prefix: str = "/ui"

    @property
    def effective_sort(self) -> Sort:
        """Relevance for a query, newest first when there is none (browsing the archive)."""
        return self.sort or ("relevance" if self.query.strip() else "newest")

    def url(self, *, query: str | None = None, sort: Sort | None = None, page: int | None = None) -> str:
        """This search's URL, with the query, sorting or page changed."""
        state = replace(self, query=self.query if query is None else query, sort=sort or self.sort, page=page or self.page)
        params: dict[str, str] = {}
        if state.query:
            params["q"] = state.query
        if state.sort and state.sort != ("relevance" if state.query.strip() else "newest"):
            params["sort"] = state.sort
        if state.page > 1:
            params["page"] = str(state.page)
        return f"{state.prefix}/search" + (f"?{urlencode(params)}" if params else "")

    @classmethod
    def from_url(cls, url: str, prefix: str = "/ui") -> SearchState:
        """The search a ``url()`` link names (the card page's «back to the results»): only its
        query, sorting and page are read, so the link made from it stays on the search page."""
        params = dict(parse_qsl(urlsplit(url).query))
        sort = params.get("sort")
        page = params.get("page", "1")
        return cls(
            query=params.get("q", "")[:2000],
            sort=sort if sort in SORTS else None,
            page=int(page) if page.isascii() and page.isdigit() and 0 < len(page) < 6 else 1,
            prefix=prefix,
        )

    def narrowed(self, facet: str, value: str) -> str:
        """This search with the facet's value added as a filter, from the first page."""
        added = facet_filter(facet, value)
        return self.url(query=f"{self.query.strip()} {added}".strip(), page=1)

    def has_filter(self, facet: str, value: str) -> bool:
        return facet_filter(facet, value) in self.query

    def sorted_by(self, sort: Sort) -> str:
        return self.url(sort=sort, page=1)

    def last_page(self, total: int) -> int:
        """The last page that can be shown (only the first 10,000 hits can be paged through)."""
        return max(1, math.ceil(min(total, MAX_WINDOW) / PER_PAGE))

    def pages(self, total: int, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and a few around this one; None for a gap."""
        last = self.last_page(total)
        wanted = sorted({1, last, *range(max(1, self.page - around), min(last, self.page + around) + 1)})
        out: list[int | None] = []
        previous = 0
        for number in wanted:
            if previous and number - previous > 1:
                out.append(None)
            out.append(number)
            previous = number
        return out
