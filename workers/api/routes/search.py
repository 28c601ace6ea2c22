"""Search: the query language and options of ``kartoteka search``, the same JSON as its ``--json``."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.searching import MAX_PER_PAGE, SearchParams, search
from workers.api.auth import Reader
from workers.api.deps import ServicesDep
from workers.api.metrics import app_metrics
from workers.api.models import SearchResult
from workers.api.params import IsoDate

router = APIRouter(tags=["search"])

QUERY_HELP = (
    'Words, "phrases", OR, -exclusions, prefix*, kind:/journal:/correspondent:/number:/status: filters and '
    "registered:/date: ranges (2026-01-01..2026-03-31)."
)


@router.get("/search", response_model=SearchResult, response_model_exclude_unset=True, summary="Search cards and page text")
async def get_search(
    request: Request,
    services: ServicesDep,
    _: Reader,
    q: Annotated[str, Query(max_length=2000, description=QUERY_HELP)] = "",
    kind: Annotated[str | None, Query(max_length=100)] = None,
    journal: Annotated[str | None, Query(max_length=100)] = None,
    correspondent: Annotated[str | None, Query(max_length=500)] = None,
    number: Annotated[str | None, Query(max_length=100, description="registration or document number; * for a prefix")] = None,
    status: Literal["registered", "needs review", "verified"] | None = None,
    start: Annotated[IsoDate | None, Query(alias="from", description="registered on or after")] = None,
    end: Annotated[IsoDate | None, Query(alias="to", description="registered on or before")] = None,
    sort: Literal["relevance", "newest", "oldest"] = "relevance",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 10,
    facets: Annotated[bool, Query(description="count hits by kind, journal, year and correspondent")] = False,
) -> JSONResponse:
    """The search runs in the thread pool (one trip per request); its result is the JSON of
    ``kartoteka search --json`` as it is, sent without a second validation against the response
    model (which only documents it here)."""
    params = SearchParams(
        query=q, kind=kind, journal=journal, correspondent=correspondent, number=number, status=status,
        start=start, end=end, sort=sort, page=page, per_page=per_page, facets=facets,
    )  # fmt: skip
    started = time.perf_counter()
    found = await run_in_threadpool(lambda: search(services, params).as_json())
    app_metrics(request.app).search_seconds.observe(time.perf_counter() - started)
    return JSONResponse(found)
