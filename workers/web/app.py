"""``create_ui``: the UI as a FastAPI app of its own, mounted in the API's app under ``/ui``.

Its own app keeps its routes out of the API's route table and schema and lets its errors be
pages; requests still pass the API app's middleware (the request log), and pages use the API
app's Services (built by its lifespan) and its enqueue (retries).
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

from app.settings import Settings
from workers.api.app import API_PREFIX
from workers.web import UI_PREFIX
from workers.web.errors import http_error
from workers.web.routes import admin, cards, login, operator, review, search
from workers.web.state import WebState
from workers.web.templating import STATIC_DIR, Templates

__all__ = ["create_ui"]

#: Static files are asked for with their content's hash (``?v=``): cached for a year.
STATIC_MAX_AGE = 365 * 24 * 3600


class VersionedStatic(StaticFiles):
    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:  # fmt: skip
        response = super().file_response(full_path, stat_result, scope, status_code)
        if b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
        return response


def create_ui(api: FastAPI, settings: Settings) -> FastAPI:
    """The UI over ``api``'s Services; templates and catalogs are loaded now (a missing catalog
    is a ConfigurationError at start-up, not on the first page)."""
    ui = FastAPI(title="Kartoteka UI", openapi_url=None, docs_url=None, redoc_url=None)
    ui.state.web = WebState(api, settings, Templates(ZoneInfo(settings.timezone), UI_PREFIX, API_PREFIX))
    ui.add_exception_handler(StarletteHTTPException, http_error)
    for module in (login, search, cards, review, operator, admin):
        ui.include_router(module.router)
    ui.mount("/static", VersionedStatic(directory=STATIC_DIR), name="static")
    return ui
