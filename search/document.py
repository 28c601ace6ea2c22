"""What the index holds for one card: analysed terms to match, and a stored copy to show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from archive.model import CardView
from search.analysis import analyze_fields, analyze_text
from search.query import normalize_keyword

__all__ = ["SCHEMA_VERSION", "STRING_FIELDS", "IndexDoc", "card_document", "day_start"]

#: Bump when the analysis or the fields change: an index of another version is rebuilt.
#: 2: Elasticsearch counts kind, journal and year from one keyword (facet_key).
#: 3: dictionary lemmas for Russian, and the alternates of ambiguous words (issue 14).
#: 4: Kazakh endings stripped by morphotactics, Kazakh readings of words Russian could spell.
#: 5: numbers and codes («09г2с») indexed as written, not stemmed.
#: 6: combining marks stay in their word (NFD text, stress marks), diacritics left over after NFC dropped;
#:    registration time sorted to the microsecond on both backends (a batch registers many a second).
SCHEMA_VERSION = 6


@dataclass(frozen=True)
class IndexDoc:
    id: str
    registered_at: datetime  # UTC, for sorting
    registered_day: date  # the office's calendar day, for ranges
    doc_date: date | None
    year: int
    kind: str  # normalised keyword
    journal: str
    status: str
    numbers: tuple[str, ...]
    correspondent: str  # analysed
    journal_facet: str  # as written on the card
    correspondent_facet: str
    card_text: str  # analysed: number, title, correspondent, fields
    card_exact: str  # folded words of the same
    body: str  # analysed text of every page
    body_exact: str
    #: the other lemmas of ambiguous words, each indexed as one more value of card_text / body
    #: (see ``search.analysis``): words match them, phrases never reach them
    stored: Mapping[str, Any]  # what a hit shows and highlights are cut from
    card_alternates: tuple[str, ...] = ()
    body_alternates: tuple[str, ...] = ()


#: The single-string fields, stored by both backends under these names.
STRING_FIELDS = (
    "id", "kind", "journal", "status", "journal_facet", "correspondent_facet",
    "correspondent", "card_text", "card_exact", "body", "body_exact",
)


def card_document(view: CardView, tz: ZoneInfo) -> IndexDoc:
    """The index document of a card (pages in order; page text as recognised)."""
    card = view.card
    fields = {name: f.value for name, f in card.fields.items() if f.value not in (None, "")}
    card_parts = [
        card.registration_number,
        card.title,
        card.correspondent or "",
        card.doc_number or "",
        *(str(v) for v in fields.values()),
    ]
    card_source = "\n".join(p for p in card_parts if p)
    pages = [p.text for p in sorted(view.pages, key=lambda p: p.number)]
    body_source = "\n".join(pages)
    registered = card.registered_at.astimezone(timezone.utc)
    card_terms = analyze_fields(card_source)
    body_terms = analyze_fields(body_source)
    numbers = tuple(
        n for n in (normalize_keyword(card.registration_number), normalize_keyword(card.doc_number or "")) if n
    )
    stored = {
        "id": card.id,
        "registration_number": card.registration_number,
        "kind": card.kind,
        "journal": card.journal,
        "status": card.status,
        "title": card.title,
        "correspondent": card.correspondent,
        "doc_number": card.doc_number,
        "doc_date": card.doc_date.isoformat() if card.doc_date else None,
        "registered_at": registered.isoformat(),
        "fields": {k: v for k, v in fields.items() if isinstance(v, str | int | float | bool)},
        "pages": pages,
    }
    return IndexDoc(
        id=card.id,
        registered_at=registered,
        registered_day=registered.astimezone(tz).date(),
        doc_date=card.doc_date,
        year=card.year,
        kind=normalize_keyword(card.kind),
        journal=normalize_keyword(card.journal),
        status=normalize_keyword(card.status),
        numbers=numbers,
        correspondent=analyze_text(card.correspondent or ""),
        journal_facet=card.journal,
        correspondent_facet=(card.correspondent or "").strip(),
        card_text=card_terms.terms,
        card_exact=card_terms.folded,
        body=body_terms.terms,
        body_exact=body_terms.folded,
        stored=stored,
        card_alternates=card_terms.alternates,
        body_alternates=body_terms.alternates,
    )


def day_start(value: date) -> datetime:
    """Midnight UTC of a calendar day: how both backends store a bare date."""
    return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
