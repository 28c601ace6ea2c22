"""Errors as pages: every UI route is a ``WebRoute``, which turns whatever its dependencies or
handler raise into a response a person can act on, and adds the UI's security headers.

- no session: a redirect to the login page (and back afterwards); 401 for a live fragment;
- no permission or a form without its CSRF token: a 403 page;
- our PermanentError: its HTTP status (as the API maps it) with the message; a card or batch
  the address names and the archive lacks in the UI's own words (the message is English);
- TransientError: 503, try again;
- anything else: 500 with a reference id that names the log line holding the traceback; never
  a stack trace.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from archive.errors import BatchNotFound, CardNotFound
from ingest.errors import PermanentError, TransientError
from workers.api.problems import status_for
from workers.web import UI_PREFIX
from workers.web.i18n import N_
from workers.web.session import CsrfRefused, Forbidden, LoginRequired, current_viewer
from workers.web.templating import here, render

__all__ = ["SECURITY_HEADERS", "WebRoute", "error_page", "http_error", "secure"]

log = logging.getLogger(__name__)

#: Scripts and styles from the UI's own static files only (style attributes place the word
#: boxes on page images); no framing, forms post only here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
#: Routes whose answer is a fragment fetched by the page's script: no redirects, no full pages.
FRAGMENT_SUFFIX = "/live"
#: Not-found errors the error page says in the UI's own words: the error's code → (the path
#: parameter that names what is missing, the message with its value as ``%(value)s``).
NOT_FOUND: dict[str, tuple[str, str]] = {
    CardNotFound.code: ("card", N_("No card has the id or registration number «%(value)s».")),
    BatchNotFound.code: ("batch_id", N_("No batch has the id «%(value)s».")),
}


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.media_type == "text/html" or response.headers.get("content-type", "").startswith("text/html"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def login_redirect(request: Request) -> Response:
    if request.url.path.endswith(FRAGMENT_SUFFIX):
        return Response(status_code=401)
    return RedirectResponse(f"{UI_PREFIX}/login?next={quote(here(request), safe='/')}", status_code=303)


def error_page(
    request: Request, status: int, detail: str = "", reference: str | None = None, said: tuple[str, str] | None = None
) -> HTMLResponse:
    """The error page, or a bare one if the error page itself cannot be rendered; ``said``: the
    detail as a message of the catalogs and its value (shown instead of ``detail``)."""
    try:
        return render(request, "error.html", status, status=status, detail=detail, reference=reference, said=said)
    except Exception:
        log.exception("the error page failed (status %d, reference %s)", status, reference)
        text = f"Error {status}" + (f" (reference {reference})" if reference else "")
        return HTMLResponse(f"<!doctype html><title>{html.escape(text)}</title><p>{html.escape(text)}</p>", status)


def server_error(request: Request, error: BaseException) -> HTMLResponse:
    reference = uuid.uuid4().hex[:12]
    log.error("unhandled error on %s %s (reference %s)", request.method, request.url.path, reference, exc_info=error)
    return error_page(request, 500, reference=reference)


def error_response(request: Request, error: Exception) -> Response:
    """What a person sees for ``error`` raised while answering ``request``."""
    if isinstance(error, LoginRequired):
        return login_redirect(request)
    if isinstance(error, Forbidden):
        return error_page(request, 403, "forbidden")
    if isinstance(error, CsrfRefused):
        return error_page(request, 403, "csrf")
    if isinstance(error, RequestValidationError):
        return error_page(request, 404 if _in_path(error) else 400)
    if isinstance(error, PermanentError):
        return error_page(request, status_for(error), error.message, said=_not_found(request, error))
    if isinstance(error, TransientError):
        log.warning("%s %s: %s", request.method, request.url.path, error)
        return error_page(request, 503, error.message)
    if isinstance(error, StarletteHTTPException):
        return error_page(request, error.status_code)
    return server_error(request, error)


def _not_found(request: Request, error: PermanentError) -> tuple[str, str] | None:
    """(message, value) for a card or batch the address names and the archive does not have."""
    param, message = NOT_FOUND.get(getattr(error, "code", ""), ("", ""))
    value = request.path_params.get(param) if param else None
    return (message, str(value)) if value is not None else None


def _in_path(error: RequestValidationError) -> bool:
    return any(e.get("loc", ("",))[0] == "path" for e in error.errors())


class WebRoute(APIRoute):
    """A UI route: errors become pages (see the module's docstring), responses get the headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as error:
                response = error_response(request, error)
            return secure(response)

        return guarded


async def http_error(request: Request, error: Exception) -> Response:
    """The UI app's handler for errors outside its routes (an unknown path, a wrong method):
    the login page for a visitor without a session, else an error page."""
    status = error.status_code if isinstance(error, StarletteHTTPException) else 500
    if await run_in_threadpool(current_viewer, request) is None:
        return secure(login_redirect(request))
    return secure(error_page(request, status))
