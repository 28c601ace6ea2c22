"""The published schema: FastAPI's, with every problem response under ``application/problem+json``
(FastAPI files a response model under ``application/json``), the statuses every route may answer
with listed once, and each operation's permission as ``x-permission`` (from the ``Require``
or ``PublicWhen`` dependency it declares: ``read``, ``review``, ``ingest``, ``admin``, ``signed-in`` for any
caller, absent for public operations; ``/metrics`` shows ``admin``, which
``KARTOTEKA_METRICS_PUBLIC=true`` lifts)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts

from workers.api.auth import Access
from workers.api.models import Problem
from workers.api.problems import MEDIA_TYPE

__all__ = ["COMMON_RESPONSES", "SIGNED_IN", "operation_permissions", "problems", "published_schema"]

#: ``x-permission`` of an operation any signed-in caller may use.
SIGNED_IN = "signed-in"

PROBLEM_REF = "#/components/schemas/Problem"


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting these statuses as problem details."""
    return {status: {"model": Problem, "description": _DESCRIPTIONS.get(status, "A problem")} for status in statuses}


_DESCRIPTIONS = {
    400: "Bad request: a malformed query, cursor or body",
    401: "Not signed in, or the token is unknown or revoked",
    403: "The caller lacks the permission, or the CSRF token is missing",
    404: "No such card, batch or resource",
    409: "It exists already",
    412: "The card changed since the version If-Match names",
    413: "The upload is larger than the limit",
    415: "The body is not of a type the route takes (uploads: multipart/form-data)",
    416: "The range selects no byte of the file",
    422: "The request does not validate, or the change is not allowed",
    428: "If-Match is required",
    429: "Too many failed sign-ins: wait Retry-After seconds",
    500: "The server failed; the reference names its log line",
    503: "A part (catalog, index) is unavailable: retry after Retry-After seconds",
}

#: What any route may answer with.
COMMON_RESPONSES = problems(400, 401, 403, 404, 422, 500, 503)


def _problem_media_type(schema: dict[str, Any]) -> None:
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                body = content.get("application/json", {})
                if body.get("schema", {}).get("$ref") == PROBLEM_REF:
                    content[MEDIA_TYPE] = content.pop("application/json")


#: OpenAPI links: where an answer's values lead (clients and schemathesis's stateful phase
#: follow them). (operation, status) → {link name: (target operation, its parameters)}.
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("get", "/api/v1/cards", "200"): {
        "card": ("get", "/api/v1/cards/{id_or_number}", {"id_or_number": "$response.body#/cards/0/card"}),
    },
    ("get", "/api/v1/cards/{id_or_number}", "200"): {
        "correct": ("patch", "/api/v1/cards/{id_or_number}",
                    {"id_or_number": "$response.body#/card", "header.If-Match": "$response.header.ETag"}),
        "accept": ("post", "/api/v1/cards/{id_or_number}/accept", {"id_or_number": "$response.body#/card"}),
    },
    ("get", "/api/v1/review", "200"): {
        "card": ("get", "/api/v1/cards/{id_or_number}", {"id_or_number": "$response.body#/cards/0/card"}),
    },
    ("get", "/api/v1/batches", "200"): {
        "batch": ("get", "/api/v1/batches/{batch_id}", {"batch_id": "$response.body#/batches/0/batch"}),
        "files": ("get", "/api/v1/ledger", {"batch": "$response.body#/batches/0/batch"}),
    },
    ("post", "/api/v1/tokens", "201"): {
        "revoke": ("delete", "/api/v1/tokens/{id_or_name}", {"id_or_name": "$response.body#/token/id"}),
    },
    ("get", "/api/v1/ledger", "200"): {
        "retry": ("post", "/api/v1/inputs/{input_id}/retry", {"input_id": "$response.body#/files/0/input"}),
    },
    ("post", "/api/v1/webhooks", "201"): {
        "deliveries": ("get", "/api/v1/webhooks/{hook_id}/deliveries", {"hook_id": "$response.body#/webhook/id"}),
        "disable": ("delete", "/api/v1/webhooks/{hook_id}", {"hook_id": "$response.body#/webhook/id"}),
    },
}  # fmt: skip


def _links(schema: dict[str, Any]) -> None:
    paths = schema.get("paths", {})
    for (method, path, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        for name, (target_method, target_path, parameters) in links.items():
            pointer = target_path.replace("~", "~0").replace("/", "~1")
            response.setdefault("links", {})[name] = {
                "operationRef": f"#/paths/{pointer}/{target_method}", "parameters": parameters,
            }  # fmt: skip


def _require(dependant: Dependant) -> Access | None:
    for sub in dependant.dependencies:
        found = sub.call if isinstance(sub.call, Access) else _require(sub)
        if found is not None:
            return found
    return None


def operation_permissions(app: FastAPI) -> dict[tuple[str, str], str | None]:
    """(method, path template) → the permission the route requires (SIGNED_IN for any caller),
    or None for a public route: read from the route table, so no route can be left out."""
    found: dict[tuple[str, str], str | None] = {}
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        path = context.path_format
        if not isinstance(dependant, Dependant) or path is None:
            continue
        require = _require(dependant)
        permission = None if require is None else require.permission or SIGNED_IN
        for method in context.methods or ():
            found[(method.upper(), path)] = permission
    return found


def _permissions(schema: dict[str, Any], app: FastAPI) -> None:
    for (method, path), permission in operation_permissions(app).items():
        operation = schema.get("paths", {}).get(path, {}).get(method.lower())
        if operation is not None and permission is not None:
            operation["x-permission"] = permission
            needs = "any signed-in caller" if permission == SIGNED_IN else f"the `{permission}` permission"
            operation["description"] = f"Needs {needs}. " + operation.get("description", "")


def published_schema(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        _problem_media_type(schema)
        _permissions(schema, app)
        _links(schema)
        app.openapi_schema = schema
    return app.openapi_schema
