"""Every string of the UI is in the message catalogs of every language, translated, with the same
placeholders, and the committed ``.mo`` files are what their ``.po`` files compile to."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from workers.web.i18n import LOCALE_DIR, LOCALES

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
METHODS = [("workers/web/**.py", "python"), ("workers/web/templates/**.html", "jinja2")]
OPTIONS = {"workers/web/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}}


def _extracted() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, METHODS, OPTIONS, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    ):
        found.add(message if isinstance(message, str) else tuple(m for m in message if m is not None))
    return found


def _po(locale: str) -> Catalog:
    with open(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale: str) -> None:
    catalog = _po(locale)
    present = {m.id for m in catalog if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])}
    missing = sorted(map(str, _extracted() - present))
    assert not missing, f"{locale}: untranslated or missing (run the commands in workers/web/i18n.py): {missing}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_their_placeholders(locale: str) -> None:
    for message in _po(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, (locale, message.id, string)


def _messages(catalog: Catalog) -> dict[object, object]:
    def plain(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {plain(m.id): plain(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalog_is_the_po_file(locale: str) -> None:
    source = _po(locale)
    compiled_now = io.BytesIO()
    write_mo(compiled_now, source)
    with open(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.mo", "rb") as f:
        committed = read_mo(f)
    compiled = read_mo(io.BytesIO(compiled_now.getvalue()))
    assert _messages(committed) == _messages(compiled), (
        f"{locale}: messages.mo is out of date: .venv/bin/pybabel compile -d workers/web/locale"
    )


def test_russian_has_three_plural_forms_and_kazakh_two() -> None:
    assert _po("ru").num_plurals == 3 and _po("kk").num_plurals == 2
