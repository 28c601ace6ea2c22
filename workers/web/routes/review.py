"""The review queue (oldest first, with reasons) and the correction form's target: correct kind,
fields and correspondent, or accept the card as it is, then on to the next card.

The form names the card's version it was filled in on; ``app.review`` refuses the change when
the card changed since (the API's ``If-Match``), and the page says so and shows the card as it
is now. Only what the clerk changed is sent: untouched fields keep their page and position.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from app import records, review
from archive.errors import InvalidChange, StaleVersion
from archive.model import CardRow
from workers.web import UI_PREFIX
from workers.web.cardpage import kind_titles
from workers.web.routes import web_router
from workers.web.routes.cards import CardId, show_card
from workers.web.session import PostedForm, Reviewer, ReviewForm
from workers.web.state import services_of
from workers.web.templating import language_of, render

router = web_router()

#: Cards of the queue listed at most.
QUEUE_SHOWN = 200
#: Fields the form sets through their own inputs rather than the list of fields.
OWN_INPUTS = ("kind", "correspondent")
FIELD_PREFIX = "field:"
MAX_NEW_FIELDS = 10


@router.get("/review")
def queue(request: Request, viewer: Reviewer, done: bool = False) -> Response:
    services = services_of(request)
    cards = review.review_queue(services, limit=QUEUE_SHOWN)
    kinds = kind_titles(services, language_of(request))
    return render(request, "review.html", cards=cards, kinds=kinds, shown=QUEUE_SHOWN, done=done, section="review")


def next_card_url(request: Request, after: str | None) -> str:
    """The card to review after ``after``: the next in the queue (oldest first), else the oldest
    other one. ``after`` may have left the queue (just saved): the next is then the first card
    registered after it, not the oldest (which would bring back every card skipped before)."""
    services = services_of(request)
    cards = review.review_queue(services, limit=QUEUE_SHOWN)
    ids = [c.id for c in cards]
    if after in ids:
        following = ids[ids.index(after) + 1 :]
    else:
        view = services.catalog.get_card(after) if after else None
        mark = (view.card.registered_at, view.card.id) if view else None
        following = [c.id for c in cards if mark is not None and (c.registered_at, c.id) > mark]
    others = [i for i in ids if i != after]
    chosen = following[0] if following else (others[0] if others else None)
    return f"{UI_PREFIX}/cards/{chosen}?review=1" if chosen else f"{UI_PREFIX}/review?done=1"


@router.get("/review/next")
def next_card(request: Request, viewer: Reviewer, after: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    return RedirectResponse(next_card_url(request, after), status_code=303)


def correction(posted: PostedForm, card: CardRow) -> review.Correction:
    """What the clerk changed on the form (a field left as it was is not sent)."""
    fields: dict[str, str | None] = {}
    for name, found in card.fields.items():
        sent = posted.form.get(FIELD_PREFIX + name)
        current = "" if found.value is None else str(found.value)
        if name not in OWN_INPUTS and isinstance(sent, str) and sent.strip() != current:
            fields[name] = sent.strip() or None
    for i in range(1, MAX_NEW_FIELDS + 1):
        name, value = posted.get(f"new_name_{i}").strip(), posted.get(f"new_value_{i}").strip()
        if name and value:
            fields[name] = value
    proposal = posted.get("use_proposal").strip()
    correspondent = proposal or posted.get("correspondent").strip()
    kind = posted.get("kind").strip()
    title = posted.get("title").strip()
    return review.Correction(
        kind=kind if kind and kind != card.kind else None,
        fields=fields,
        correspondent=correspondent if correspondent != (card.correspondent or "") else None,
        title=title if title != card.title else None,
    )


@router.post("/cards/{card}/review")
def review_card(request: Request, card: CardId, posted: ReviewForm) -> Response:
    services = services_of(request)
    current = records.get_card(services, card).card
    reviewing = posted.get("review") == "1"
    version = posted.get("version")
    # ASCII digits only («³».isdigit() is true, int() refuses it), and no more than a version can be.
    if not (version.isascii() and version.isdigit()) or len(version) > 18:
        raise InvalidChange("the form names no version of the card: open the card again")
    actor = posted.viewer.principal.actor
    try:
        if posted.get("action") == "accept":
            review.accept(services, current.id, actor, expected_version=int(version))
        else:
            review.correct(services, current.id, correction(posted, current), actor, expected_version=int(version))
    except StaleVersion as e:
        return show_card(request, posted.viewer, current.id, reviewing=reviewing, status=409, stale=e.current)
    except InvalidChange as e:
        return show_card(request, posted.viewer, current.id, reviewing=reviewing, status=422, refused=e.message)
    if reviewing:
        return RedirectResponse(next_card_url(request, current.id), status_code=303)
    return RedirectResponse(f"{UI_PREFIX}/cards/{current.id}?saved=true", status_code=303)
