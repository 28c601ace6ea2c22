"""Languages of the UI: Russian by default, Kazakh and English by a switch (a cookie).

Every string the UI shows is a message of the gettext catalogs in ``locale/`` (source strings
are English; ``N_`` marks a string in Python code for extraction, translated when shown).
Dates, times and numbers are written by Babel in the chosen locale and the office's time zone.

Maintaining the catalogs (the compiled ``.mo`` files are committed beside the ``.po``, so
nothing is compiled at install or start-up)::

    .venv/bin/pybabel extract -F workers/web/babel.cfg -k N_ --no-location --sort-output \
        -o workers/web/locale/messages.pot .
    .venv/bin/pybabel update --no-fuzzy-matching -i workers/web/locale/messages.pot -d workers/web/locale
    # translate the new messages in locale/{ru,kk,en}/LC_MESSAGES/messages.po, then
    .venv/bin/pybabel compile -d workers/web/locale

``tests/web/test_catalogs.py`` fails when a message is missing or untranslated, a translation
loses a placeholder, or a ``.mo`` is not what its ``.po`` compiles to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from babel.units import format_unit
from starlette.requests import HTTPConnection

from ingest import reasons
from ingest.errors import ConfigurationError

__all__ = [
    "DEFAULT_LOCALE",
    "LANGUAGE_NAMES",
    "LANG_COOKIE",
    "LOCALES",
    "LOCALE_DIR",
    "Formats",
    "Language",
    "N_",
    "load_translations",
    "locale_of",
    "reason_in",
]

LOCALES = ("ru", "kk", "en")
DEFAULT_LOCALE = "ru"
#: Each language by its own name (never translated: a reader finds their language in any UI).
LANGUAGE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
LANG_COOKIE = "kartoteka_lang"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs; it is translated where it is shown (``_(label)``)."""
    return message


def locale_of(request: HTTPConnection) -> str:
    """The language chosen by the switch, else Russian (the office's language, whatever the
    browser's settings say)."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def reason_in(text: str, translations: Translations) -> str | None:
    """A recorded quarantine or page-failure reason (``ingest/reasons.py``) in the catalog's
    language; None for a text made from no known template (it is shown as recorded)."""
    parsed = reasons.parse(text)
    if parsed is None:
        return None
    params = {k: (reason_in(v, translations) or v) if k == "error" else v for k, v in parsed.params.items()}
    return translations.gettext(parsed.template) % params


@dataclass(frozen=True)
class Language:
    """A language of the UI: its code and its catalog, for text made in Python (a kind's title)."""

    code: str
    translations: Translations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)


def load_translations(locale: str) -> Translations:
    """The compiled catalog of ``locale``; ConfigurationError when it is missing."""
    found = Translations.load(str(LOCALE_DIR), [locale], DOMAIN)
    if not isinstance(found, Translations):
        raise ConfigurationError(f"the UI's message catalog {LOCALE_DIR}/{locale}/LC_MESSAGES/{DOMAIN}.mo is missing")
    return found


class Formats:
    """Dates, times, numbers and sizes written in one locale, times in the office's zone.

    A short date keeps the year's four digits where the locale's own format has two (Kazakh
    «02.12.26», English «12/2/26»): an archive's dates span decades."""

    def __init__(self, locale: str, tz: ZoneInfo) -> None:
        self.locale = locale
        self.tz = tz
        data = Locale.parse(locale)
        self.short_day = _four_digit_year(data.date_formats["short"].pattern)
        self.short_moment = str(data.datetime_formats["short"]).format(data.time_formats["short"].pattern, self.short_day)

    def moment(self, value: datetime | str | None, length: str = "short") -> str:
        """A date and time (the ``datetime`` filter of the templates)."""
        moment = _moment(value)
        if moment is None:
            return ""
        pattern = self.short_moment if length == "short" else length
        return format_datetime(moment, pattern, tzinfo=self.tz, locale=self.locale)

    def day(self, value: date | datetime | str | None, length: str = "medium") -> str:
        """A date (the ``date`` filter); a time counts by its day in the office's zone."""
        if isinstance(value, datetime | str):
            moment = _moment(value)
            value = moment.astimezone(self.tz).date() if moment is not None else None
        pattern = self.short_day if length == "short" else length
        return "" if value is None else format_date(value, pattern, locale=self.locale)

    def number(self, value: Decimal | float | int | None) -> str:
        """A number; a Decimal keeps its decimal places (an amount of 352.50 is «352,50» in Russian)."""
        if value is None:
            return ""
        if isinstance(value, Decimal) and value.is_finite():
            places = max(0, -int(value.as_tuple().exponent))
            return format_decimal(value, "#,##0" + ("." + "0" * places if places else ""), locale=self.locale)
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float | None) -> str:
        return "" if value is None else format_percent(value, locale=self.locale)

    def size(self, count: int) -> str:
        """A file size: bytes, kB or MB (decimal, as the units say)."""
        if count < 1000:
            return format_unit(count, "digital-byte", length="short", locale=self.locale)
        if count < 1_000_000:
            return format_unit(round(count / 1000, 1), "digital-kilobyte", length="short", locale=self.locale)
        return format_unit(round(count / 1_000_000, 1), "digital-megabyte", length="short", locale=self.locale)


def _four_digit_year(pattern: str) -> str:
    """A CLDR date pattern with a two-digit year («yy») made to write the whole year («y»)."""
    return re.sub(r"(?<!y)yy(?!y)", "y", pattern)


def _moment(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value
