"""The web UI: server-rendered pages for clerks (search, cards, the review queue) and operators
(the dashboard), served under ``/ui`` by the API's own process, with its accounts and sessions.

    app.py         create_ui: the UI as a FastAPI app mounted under /ui, static files
    state.py       WebState on the UI app: the API app (its Services), settings, templates
    i18n.py        locales (Russian by default, Kazakh, English), catalogs, locale formats
    labels.py      the names shown for the archive's codes (statuses, outcomes, fields, reasons)
    templating.py  Jinja2 environments, one per locale; render() and the page context
    session.py     the signed-in person from the session cookie; permissions; CSRF on forms
    errors.py      WebRoute: error pages with a reference id, never a stack trace; headers
    marks.py       the search's words on page text and on hOCR word boxes; a field's box
    links.py       search URLs: facets that narrow the query, sorting, paging
    cardpage.py    what the card page shows, built from the card and its hOCR
    dashboard.py   what the operator's dashboard shows: batches, throughput, quarantine
    routes/        login, search, cards, review, operator, admin

No front-end build step: templates, one stylesheet and a few lines of JavaScript ship in the
package; catalogs are ``locale/<lang>/LC_MESSAGES/messages.po`` with their compiled ``.mo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.settings import Settings

__all__ = ["UI_PREFIX", "mount"]

#: Where the UI lives in the API's app.
UI_PREFIX = "/ui"


def mount(app: FastAPI, settings: Settings) -> None:
    """Serve the UI under ``/ui`` of ``app`` (made by ``workers.api.app.create_app``).

    The UI is a sub-application: its routes stay out of the API's route table and schema, and
    its errors are HTML pages, not problem details. It uses ``app``'s Services and enqueue.
    """
    from workers.web.app import create_ui

    app.mount(UI_PREFIX, create_ui(app, settings), name="ui")
