"""The FastAPI application: everything under ``/api/v1``, plus ``/health`` and ``/ready``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app.services import Services
from app.settings import Settings
from app.uploads import Enqueue
from workers.api.metrics import Metrics
from workers.api.openapi import COMMON_RESPONSES, published_schema
from workers.api.problems import install_handlers
from workers.api.requestlog import RequestLog
from workers.api.routes import (
    cards,
    changes,
    files,
    health,
    metrics,
    records,
    review,
    search,
    session,
    tokens,
    uploads,
    users,
    webhooks,
)
from workers.web import mount

__all__ = ["API_PREFIX", "create_app"]

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
DESCRIPTION = """\
Registration cards, their search, the ledger of input files and a change feed, for downstream
systems (API tokens: `Authorization: Bearer …`) and people (a session cookie from
`POST /api/v1/session`; changes then need the `X-CSRF-Token` header). The JSON of cards,
search results and ledger entries is the command line's `--json` output. Errors are RFC 9457
problem details (`application/problem+json`) with a machine-readable `code`.
"""


def _version() -> str:
    try:
        return metadata.version("kartoteka")
    except metadata.PackageNotFoundError:
        return "0"


def _wait_for_sweep(input_id: str) -> None:
    log.info("upload %s waits for the recovery sweep of `kartoteka run`", input_id)


def create_app(settings: Settings, services: Services | None = None, enqueue: Enqueue | None = None) -> FastAPI:
    """The API over ``services`` (the caller's, which it keeps open), or over Services built from
    ``settings`` when the app starts and closed when it stops. ``enqueue(input_id)`` sends an
    uploaded file to be processed (``kartoteka run``'s dispatcher, a broker's actor); without
    one, uploads stay pending until a service's recovery sweep takes them."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        app.state.services = Services(settings) if own else services
        try:
            yield
        finally:
            if own:
                await run_in_threadpool(app.state.services.close)

    app = FastAPI(
        title="Kartoteka",
        version=_version(),
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
        responses=COMMON_RESPONSES,
    )
    app.state.settings = settings
    app.state.enqueue = enqueue or _wait_for_sweep
    app.state.metrics = Metrics(app)
    install_handlers(app)
    app.add_middleware(RequestLog, on_request=app.state.metrics.request)
    app.include_router(health.router)
    app.include_router(metrics.router)
    for module in (cards, files, search, records, review, changes, uploads, webhooks, session, tokens, users):
        app.include_router(module.router, prefix=API_PREFIX)
    app.openapi = lambda: published_schema(app)  # type: ignore[method-assign]
    mount(app, settings)  # the web UI under /ui: its own small app, outside the API's schema
    return app
