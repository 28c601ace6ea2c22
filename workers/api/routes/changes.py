"""The change feed: every card creation, change and deletion once, in one order, from a cursor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.changes import list_changes
from archive.model import EventTopic
from workers.api.auth import Reader
from workers.api.deps import ServicesDep
from workers.api.models import ChangePage
from workers.api.params import Cursor

router = APIRouter(tags=["changes"])


@router.get("/changes", response_model=ChangePage, response_model_exclude_unset=True, summary="Changes after a cursor")
def get_changes(
    services: ServicesDep,
    _: Reader,
    after: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    topic: Annotated[list[EventTopic] | None, Query(description="only these topics (repeatable)")] = None,
) -> dict[str, Any]:
    page = list_changes(services, after=after, limit=limit, topics=topic or None)
    return {"changes": [c.as_json() for c in page.changes], "next_cursor": page.next_cursor}
