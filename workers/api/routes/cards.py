"""Cards: list (from the search index), get (by id or number, with an ETag), correct, accept.

A correction must name the version it was made on (``If-Match`` with the card's ``ETag``), so
two clerks never overwrite each other: 428 without it, 412 when the card changed meanwhile.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from app import records, review
from app.searching import SearchParams
from archive.model import CardRow
from workers.api.auth import Reader, Reviewer
from workers.api.card_listing import list_cards
from workers.api.deps import ServicesDep
from workers.api.models import Card, CardCorrection, CardPage
from workers.api.openapi import problems
from workers.api.params import CardId, Cursor, IsoDate
from workers.api.problems import ApiProblem

router = APIRouter(tags=["cards"])

_ETAG = re.compile(r'"v(\d{1,18})"')


def etag_of(card: CardRow) -> str:
    return f'"v{card.version}"'


#: The card version a change is made on: the ETag a GET gave (a correction needs it, 428
#: without; an accept takes it to accept only that version).
IfMatch = Annotated[str | None, Header(max_length=100, description="the card's ETag, from GET")]


def expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` names (None for ``*``: any version)."""
    if if_match is None:
        raise ApiProblem(428, "if-match-required", "send If-Match with the card's ETag (from GET) so no change is lost")
    value = if_match.strip()
    if value == "*":
        return None
    found = _ETAG.fullmatch(value)
    if found is None:
        raise ApiProblem(412, "stale-version", f"If-Match {value!r} names no version of this card; GET it again")
    return int(found.group(1))


def _card(services: ServicesDep, id_or_number: str, response: Response) -> dict[str, Any]:
    view = records.get_card(services, id_or_number)
    response.headers["ETag"] = etag_of(view.card)
    return records.card_json(view)


@router.get("/cards", response_model=CardPage, summary="List cards, newest first, a page at a time")
def get_cards(
    services: ServicesDep,
    _: Reader,
    kind: Annotated[str | None, Query(max_length=100)] = None,
    journal: Annotated[str | None, Query(max_length=100)] = None,
    status: Literal["registered", "needs review", "verified"] | None = None,
    correspondent: Annotated[str | None, Query(max_length=500)] = None,
    registered_from: Annotated[IsoDate | None, Query(description="registered on or after")] = None,
    registered_to: Annotated[IsoDate | None, Query(description="registered on or before")] = None,
    sort: Literal["newest", "oldest"] = "newest",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    params = SearchParams(
        kind=kind, journal=journal, status=status, correspondent=correspondent,
        start=registered_from, end=registered_to, sort=sort,
    )  # fmt: skip
    found = list_cards(services, params, limit, cursor)
    return {"cards": found.cards, "total": found.total, "next_cursor": found.next_cursor}


@router.get("/cards/{id_or_number}", response_model=Card, response_model_exclude_unset=True, summary="One card")
def get_card(id_or_number: CardId, services: ServicesDep, _: Reader, response: Response) -> dict[str, Any]:
    return _card(services, id_or_number, response)


@router.patch(
    "/cards/{id_or_number}",
    response_model=Card,
    response_model_exclude_unset=True,
    responses=problems(412, 428),
    summary="Correct kind, fields, correspondent or title (marks the card verified)",
)
def patch_card(
    id_or_number: CardId,
    correction: CardCorrection,
    services: ServicesDep,
    principal: Reviewer,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    version = expected_version(if_match)
    change = review.Correction(
        kind=correction.kind, fields=dict(correction.fields),
        correspondent=correction.correspondent, title=correction.title,
    )  # fmt: skip
    done = review.correct(services, id_or_number, change, principal.actor, expected_version=version)
    return _card(services, done.card.id, response)


@router.post(
    "/cards/{id_or_number}/accept",
    response_model=Card,
    response_model_exclude_unset=True,
    responses=problems(412),
    summary="Confirm a card as it is (marks it verified)",
)
def accept_card(
    id_or_number: CardId,
    services: ServicesDep,
    principal: Reviewer,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """With If-Match, only the version the clerk saw is accepted (412 otherwise); without it, the
    card as it is now."""
    version = expected_version(if_match) if if_match is not None else None
    done = review.accept(services, id_or_number, principal.actor, expected_version=version)
    return _card(services, done.card.id, response)
