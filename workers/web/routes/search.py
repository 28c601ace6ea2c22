"""The search page: one query box (the query language, with a short help), facets that narrow
the query, highlights naming the page, sorting and paging; everything in the URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from app.searching import SearchParams, search
from search.query import QueryError
from search.service import SearchResponse
from workers.web import UI_PREFIX
from workers.web.cardpage import kind_titles
from workers.web.i18n import N_
from workers.web.links import PER_PAGE, SORTS, SearchState, Sort
from workers.web.routes import web_router
from workers.web.session import Reader
from workers.web.state import services_of
from workers.web.templating import language_of, render

router = web_router()

FACET_LABELS = {"kind": N_("Kind"), "journal": N_("Journal"), "year": N_("Year"), "correspondent": N_("Correspondent")}
SORT_LABELS = {"relevance": N_("relevance"), "newest": N_("newest first"), "oldest": N_("oldest first")}
MAX_PAGE = 10_000 // PER_PAGE


@router.get("/search")
def search_page(
    request: Request,
    viewer: Reader,
    q: Annotated[str, Query(max_length=2000)] = "",
    sort: Sort | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    services = services_of(request)
    state = SearchState(q, sort, page, UI_PREFIX)
    params = SearchParams(query=q, sort=state.effective_sort, page=page, per_page=PER_PAGE, facets=True)
    result: SearchResponse | None = None
    error = ""
    try:
        result = search(services, params)
    except QueryError as e:
        error = e.message
    kinds = kind_titles(services, language_of(request))
    return render(
        request, "search.html", state=state, result=result, error=error, kinds=kinds, per_page=PER_PAGE,
        sorts=SORTS, sort_labels=SORT_LABELS, facet_labels=FACET_LABELS, section="search",
    )  # fmt: skip
