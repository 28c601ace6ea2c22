"""``/metrics``: Prometheus's text format (``workers.api.metrics`` lists what it holds).

It needs the ``admin`` permission (scrape with an admin token: ``authorization.credentials``
in Prometheus's ``scrape_config``), or nothing at all when ``KARTOTEKA_METRICS_PUBLIC=true``
(for a Prometheus on a trusted network; the counts reveal no card's content).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from app.principals import Principal
from workers.api.auth import PublicWhen
from workers.api.metrics import CONTENT_TYPE, app_metrics

router = APIRouter(tags=["operations"])

MetricsReader = Annotated[Principal | None, Depends(PublicWhen("admin", "metrics_public"))]


@router.get(
    "/metrics", response_class=Response, summary="Prometheus metrics",
    description="Without credentials when the server runs with `KARTOTEKA_METRICS_PUBLIC=true`.",
    responses={200: {"description": "The metrics in Prometheus's text format 0.0.4",
                     "content": {"text/plain": {"schema": {"type": "string"}}}}},
)  # fmt: skip
async def get_metrics(request: Request, _: MetricsReader) -> Response:
    body = await run_in_threadpool(app_metrics(request.app).render)  # the catalog's counts: blocking I/O
    return Response(body, media_type=CONTENT_TYPE)
