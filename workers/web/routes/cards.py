"""The card page: page images beside the recognised text, the search's words marked on both,
fields with confidence and the box of their words, attachments, history; for a clerk who
reviews, the correction form (``routes/review.py`` takes it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import Response

from app import records, review
from workers.api.params import ID_PATTERN
from workers.web import UI_PREFIX
from workers.web.cardpage import card_page, organisation_choices
from workers.web.links import SearchState
from workers.web.routes import web_router
from workers.web.session import Reader, Viewer
from workers.web.state import services_of
from workers.web.templating import language_of, render

router = web_router()

CardId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
#: Empty fields offered for values the card does not have yet.
NEW_FIELDS = 2


def show_card(request: Request, viewer: Viewer, card: str, *, query: str = "", reviewing: bool = False,
              status: int = 200, back: str = "", **notice: Any) -> Response:  # fmt: skip
    """The card page (also after a refused correction, with ``notice`` saying why); ``back``:
    the search it was opened from (its URL), for «back to the results»."""
    services = services_of(request)
    page = card_page(services, records.get_card(services, card), query, language_of(request))
    form: dict[str, Any] = {}
    if viewer.may("review"):
        accepted, proposed = organisation_choices(services, page.view.card)
        form = {"kinds": review.kinds(services).kinds, "kind_titles": page.kind_names,
                "organisations": accepted, "proposals": proposed, "new_fields": range(1, NEW_FIELDS + 1)}  # fmt: skip
    return render(
        request, "card.html", status, page=page, card=page.view.card, query=query, reviewing=reviewing,
        form=form, notice=notice, section="review" if reviewing else "search",
        back=SearchState.from_url(back, UI_PREFIX).url() if back else SearchState(query, prefix=UI_PREFIX).url(),
    )  # fmt: skip


@router.get("/cards/{card}")
def card_view(
    request: Request,
    viewer: Reader,
    card: CardId,
    q: Annotated[str, Query(max_length=2000)] = "",
    review_mode: Annotated[bool, Query(alias="review")] = False,
    saved: bool = False,
    back: Annotated[str, Query(alias="from", max_length=2500)] = "",
) -> Response:
    reviewing = review_mode and viewer.may("review")
    return show_card(request, viewer, card, query=q, reviewing=reviewing, saved=saved, back=back)
