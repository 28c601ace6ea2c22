"""Errors as RFC 9457 problem details (``application/problem+json``), mapped where they enter.

Every error response has ``type``, ``title``, ``status``, ``detail`` and our ``code``:

- our PermanentError subclasses (bad input, never retried): 404 for ``*NotFound``, 409 for
  ``*Exists``, 412 ``StaleVersion``, 429 ``LoginRateLimited`` (with ``Retry-After``), 401
  ``LoginRefused``, 422 ``InvalidChange``, 413 ``UploadTooLarge``, 415 ``UnsupportedInput``,
  otherwise 400; an error class may also set ``http_status`` itself;
- TransientError (retry later): 503 with ``Retry-After``;
- ConfigurationError: 500 without the message (it is logged for the administrator);
- FastAPI's request validation: 422 (400 for a body that is not JSON), with ``errors``;
- Starlette's HTTP errors (unknown path 404, wrong method 405): the same shape;
- anything else: 500 with a ``reference`` that names the log line; never a stack trace.

Classes are matched by name along their MRO, so an error module need not be importable here
(``app.accounts`` and ``archive.errors.StaleVersion`` are written alongside this module).
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ingest.errors import ConfigurationError, PermanentError, PipelineError, TransientError

__all__ = [
    "MEDIA_TYPE",
    "ApiProblem",
    "install_handlers",
    "problem_response",
    "server_error_response",
    "status_for",
]

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
#: Seconds a client should wait after a 503 before trying again.
RETRY_AFTER_SECONDS = 5
#: Status of a PermanentError subclass by class name (the first name found along its MRO).
STATUS_BY_NAME: Mapping[str, int] = {
    "StaleVersion": 412,
    "NameTaken": 409,
    "LoginRateLimited": 429,
    "LoginRefused": 401,
    "InvalidChange": 422,
    "InvalidCursor": 400,
    "QueryError": 400,
    "UploadTooLarge": 413,
    "InvalidUpload": 422,
    "UnsupportedInput": 415,
}


class ApiProblem(Exception):
    """A problem the HTTP layer itself finds (no credentials, missing If-Match, bad header)."""

    def __init__(self, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _slug(status: int) -> str:
    return _phrase(status).lower().replace(" ", "-").replace("'", "")


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:kartoteka:problem:{code}",
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", 'Bearer realm="kartoteka"')
    return JSONResponse(body, status_code=status, headers=all_headers, media_type=MEDIA_TYPE)


def status_for(error: PermanentError) -> int:
    """The HTTP status of one of our permanent errors."""
    explicit = getattr(error, "http_status", None)
    if isinstance(explicit, int):
        return explicit
    for cls in type(error).__mro__:
        name = cls.__name__
        if name in STATUS_BY_NAME:
            return STATUS_BY_NAME[name]
        if name.endswith("NotFound"):
            return 404
        if name.endswith(("Exists", "Conflict")):
            return 409
    return 400


def _title(error: Exception, status: int) -> str:
    """The first line of the error class's own docstring, else the status phrase."""
    doc = type(error).__dict__.get("__doc__")
    return doc.strip().splitlines()[0].rstrip(".") if isinstance(doc, str) and doc.strip() else _phrase(status)


def _retry_after(error: Exception, default: int) -> str:
    seconds = getattr(error, "retry_after", None)
    if isinstance(seconds, int | float) and seconds > 0:
        return str(math.ceil(seconds))
    return str(default)


def _status_details(error: Exception, status: int) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and members a status adds: Retry-After for 429, the current version for 412."""
    if status == 429:
        return {"Retry-After": _retry_after(error, 60)}, {}
    current = getattr(error, "current", None)
    if status == 412 and isinstance(current, int):
        return {"ETag": f'"v{current}"'}, {"current_version": current}
    size = getattr(error, "size", None)
    if status == 416 and isinstance(size, int):
        return {"Content-Range": f"bytes */{size}"}, {}
    return {}, {}


def server_error_response(error: BaseException, request_line: str) -> JSONResponse:
    """A 500 with a reference to the log line that holds the traceback."""
    reference = uuid.uuid4().hex[:12]
    log.error("unhandled error on %s (reference %s)", request_line, reference, exc_info=error)
    return problem_response(
        500, "internal-error", f"the server failed; the administrator finds it in the log as {reference}",
        reference=reference,
    )  # fmt: skip


async def _pipeline_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, PipelineError)
    if isinstance(error, PermanentError):
        status = status_for(error)
        headers, extra = _status_details(error, status)
        return problem_response(status, error.code, error.message, title=_title(error, status), headers=headers, **extra)
    if isinstance(error, TransientError):
        return problem_response(
            503, error.code, error.message, title=_title(error, 503),
            headers={"Retry-After": _retry_after(error, RETRY_AFTER_SECONDS)},
        )  # fmt: skip
    if isinstance(error, ConfigurationError):
        log.error("configuration error on %s %s: %s", request.method, request.url.path, error)
    return server_error_response(error, f"{request.method} {request.url.path}")


async def _api_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiProblem)
    return problem_response(error.status, error.code, error.detail, headers=error.headers)


def _allowed_methods(request: Request) -> str | None:
    """Every method the published schema lists at this path (Starlette's 405 names only the
    first matching route's); None for a path the schema does not list."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), request.url.path):
            methods.update(m.upper() for m in operations if m != "parameters")
    return ", ".join(sorted(methods)) or None


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else _phrase(error.status_code)
    headers = dict(error.headers or {})
    allowed = _allowed_methods(request) if error.status_code == 405 else None
    if allowed:
        headers["Allow"] = allowed
    return problem_response(error.status_code, _slug(error.status_code), detail, headers=headers)


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(part) for part in e.get("loc", ())], "message": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in error.errors()
    ]


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = _validation_errors(error)
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(400, "malformed-json", "the request body is not valid JSON", errors=errors)
    where = ".".join(errors[0]["loc"]) if errors else ""
    message = str(errors[0]["message"]) if errors else "invalid request"
    return problem_response(422, "invalid-request", f"{where}: {message}" if where else message, errors=errors)


async def _client_gone(request: Request, error: Exception) -> JSONResponse:
    """The client hung up while its body was being read: nothing of it was kept, and nobody
    reads the answer; counted as 499 (nginx's "client closed request"), not as a server error."""
    log.info("client disconnected during %s %s; nothing of the request was kept", request.method, request.url.path)
    return problem_response(499, "client-disconnected", "the client closed the connection before the request was read",
                            title="Client Closed Request")  # fmt: skip


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(PipelineError, _pipeline_error)
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
