"""Jinja2 templates: one environment per locale (its catalog and formats installed once, so a
request never changes shared state), and ``render`` with what every page needs.

Templates autoescape everything; the only markup let through is built by the UI itself
(``marks.marked_text``) or by the search's highlighter, which escapes the text it marks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from workers.web import labels
from workers.web.i18n import LANGUAGE_NAMES, LOCALES, Formats, Language, load_translations, locale_of, reason_in
from workers.web.state import web_state
from workers.web.values import typed_value

__all__ = ["STATIC_DIR", "TEMPLATE_DIR", "Templates", "here", "language_of", "render"]

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"


class Templates:
    """The UI's templates in every locale; ``prefix`` is where the UI is mounted (``/ui``)."""

    def __init__(self, tz: ZoneInfo, prefix: str, api_prefix: str) -> None:
        versions = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in STATIC_DIR.iterdir() if p.is_file()}

        def static(name: str) -> str:
            return f"{prefix}/static/{name}?v={versions.get(name, '0')}"

        common = {
            "ui": prefix,
            "api": api_prefix,
            "static": static,
            "LOCALES": LOCALES,
            "LANGUAGE_NAMES": LANGUAGE_NAMES,
            "labels": labels,
        }
        self.languages = {locale: Language(locale, load_translations(locale)) for locale in LOCALES}
        self.environments = {locale: _environment(self.languages[locale], tz, common) for locale in LOCALES}

    def render(self, locale: str, name: str, context: Mapping[str, Any]) -> str:
        return self.environments[locale].get_template(name).render(context)


def _environment(language: Language, tz: ZoneInfo, common: Mapping[str, Any]) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    # Added by the i18n extension (not on Environment's type): gettext with autoescaping and
    # %(name)s variables, the catalog fixed for this environment.
    locale, translations = language.code, language.translations
    cast(Any, env).install_gettext_translations(translations, newstyle=True)
    formats = Formats(locale, tz)

    def reason(text: str | None) -> Markup:
        """A quarantine reason in this language, else as recorded (marked as English)."""
        if not text:
            return Markup("")
        shown = reason_in(text, translations)
        return escape(shown) if shown is not None else Markup('<span lang="en">%s</span>') % text

    def field_value(value: Any, name: str = "") -> str:
        """A card field's value: a date or a figure in this locale, text as it is; with ``name``,
        a value as stored is typed first (``values.typed_value``)."""
        shown = typed_value(name, value) if name else value
        if isinstance(shown, date):
            return formats.day(shown)
        if isinstance(shown, Decimal | int) and not isinstance(shown, bool):
            return formats.number(shown)
        return "" if shown is None else str(shown)

    env.filters.update(
        field_value=field_value,
        datetime=formats.moment,
        date=formats.day,
        number=formats.number,
        percent=formats.percent,
        size=formats.size,
        reason=reason,
    )
    env.globals.update(common)
    env.globals["locale"] = locale
    return env


def language_of(request: Request) -> Language:
    """The visitor's language with its catalog (for text made in Python)."""
    return web_state(request).templates.languages[locale_of(request)]


def here(request: Request) -> str:
    """The path and query of this request, to come back to (after signing in, a language switch)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page in the visitor's language; ``viewer`` (the signed-in person) and the CSRF token of
    their session are in every page's context."""
    viewer = getattr(request.state, "viewer", None)
    base: dict[str, Any] = {"viewer": viewer, "csrf_token": viewer.csrf_token if viewer else "", "here": here(request)}
    html = web_state(request).templates.render(locale_of(request), template, {**base, **context})
    return HTMLResponse(html, status_code=status_code)
