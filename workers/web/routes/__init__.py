"""The UI's pages, one module per area; every route is a ``WebRoute`` (errors become pages)."""

from __future__ import annotations

from fastapi import APIRouter

from workers.web.errors import WebRoute

__all__ = ["web_router"]


def web_router() -> APIRouter:
    """A router for UI pages: out of any schema, errors as pages."""
    return APIRouter(route_class=WebRoute, include_in_schema=False)
