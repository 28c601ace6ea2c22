"""The review queue: ``kartoteka review list --json`` over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app import review
from workers.api.auth import Reviewer
from workers.api.deps import ServicesDep
from workers.api.models import ReviewQueue

router = APIRouter(tags=["review"])


@router.get("/review", response_model=ReviewQueue, response_model_exclude_unset=True, summary="Cards needing review, oldest first")
def get_review_queue(
    services: ServicesDep, _: Reviewer, limit: Annotated[int | None, Query(ge=1, le=1000)] = None
) -> dict[str, Any]:
    cards = review.review_queue(services, limit=limit)
    return {"total": len(cards), "cards": [review.review_summary(c) for c in cards]}
