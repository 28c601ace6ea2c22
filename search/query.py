"""The query language, parsed once and translated by each backend.

    договор аренды            both words (AND is the default)
    "акт приёма"              a phrase
    счёт OR инвойс            either (binds tighter than the implicit AND)
    -черновик  -"не для"      exclusion
    догов*                    prefix (of the unstemmed word)
    kind:payment_invoice  journal:ВХ  correspondent:"ТОО Альфа"  number:45/12-п  number:ВХ-2026*
    registered:2026-01-01..2026-03-31   date:2024-03..2024-06   registered:2026   year:2026

Malformed input never fails: an unclosed quote closes at the end, an unknown ``field:`` is
read as plain words, a stray OR or ``-`` is ignored. The one thing refused is a date range
that cannot be read (``registered:2026-13-45``): silently ignoring it would show the clerk
documents outside the range they asked for, so it raises ``QueryError`` naming the bad part.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

from ingest.errors import PermanentError
from search.analysis import analyze, fold, keyword

__all__ = [
    "Clause",
    "DateRange",
    "FieldFilter",
    "ParsedQuery",
    "Phrase",
    "Prefix",
    "QueryError",
    "Word",
    "AnyOf",
    "parse_query",
]

KEYWORD_FIELDS = ("kind", "journal", "number", "status")
TEXT_FIELDS = ("correspondent",)
DATE_FIELDS = {"registered": "registered", "date": "doc_date", "year": "registered"}
_KNOWN = frozenset((*KEYWORD_FIELDS, *TEXT_FIELDS, *DATE_FIELDS))


class QueryError(PermanentError):
    """The query cannot mean what the clerk wants (a date range that is not a date)."""


@dataclass(frozen=True, slots=True)
class Word:
    term: str  # stemmed


@dataclass(frozen=True, slots=True)
class Phrase:
    terms: tuple[str, ...]  # stemmed, in order


@dataclass(frozen=True, slots=True)
class Prefix:
    prefix: str  # folded, unstemmed


Clause = Word | Phrase | Prefix


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one of the clauses (a chain of ORs); a single clause is just that clause."""

    clauses: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class FieldFilter:
    field: str  # kind, journal, number, status, correspondent
    value: str  # folded exact value (keyword fields) or stemmed words joined (correspondent)
    prefix: bool = False


#: The dates both backends can hold (tantivy keeps nanoseconds since 1970 in 64 bits: up to
#: 2262). A bound outside is moved inside: no card is registered before or after them, so the
#: range matches the same cards and never fails (``--to 2999-12-31`` means "until now").
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


@dataclass(frozen=True, slots=True)
class DateRange:
    field: str  # registered or doc_date
    start: date | None  # inclusive
    end: date | None  # inclusive

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, min(max(value, EARLIEST), LATEST))


@dataclass(frozen=True)
class ParsedQuery:
    must: tuple[AnyOf, ...] = ()
    must_not: tuple[Clause, ...] = ()
    filters: tuple[FieldFilter, ...] = ()
    ranges: tuple[DateRange, ...] = ()
    notes: tuple[str, ...] = field(default=())  # what was read differently from how it was typed

    @property
    def has_text(self) -> bool:
        return bool(self.must)

    def positive_terms(self) -> tuple[set[str], tuple[str, ...]]:
        """Stemmed terms and folded prefixes the hits should show highlighted (phrases apart:
        see ``phrases``)."""
        terms: set[str] = set()
        prefixes: list[str] = []
        for group in self.must:
            for clause in group.clauses:
                if isinstance(clause, Word):
                    terms.add(clause.term)
                elif isinstance(clause, Prefix):
                    prefixes.append(clause.prefix)
        for f in self.filters:
            if f.field == "correspondent":
                terms.update(f.value.split())
        return terms, tuple(prefixes)

    def phrases(self) -> tuple[tuple[str, ...], ...]:
        """The phrases asked for: their words are highlighted only where they stand together."""
        return tuple(c.terms for g in self.must for c in g.clauses if isinstance(c, Phrase))

    def with_filters(
        self, filters: tuple[FieldFilter, ...] = (), ranges: tuple[DateRange, ...] = ()
    ) -> ParsedQuery:
        return ParsedQuery(
            self.must, self.must_not, self.filters + filters, self.ranges + ranges, self.notes
        )


# A piece: optional '-', optional 'field:', then a quoted string or a bare run of non-space.
_PIECE = re.compile(r'\s*(-?)(?:([A-Za-z_]+):)?(?:"([^"]*)(?:"|$)|(\S+))')


def parse_query(text: str) -> ParsedQuery:
    """Parse ``text``; never raises except ``QueryError`` for unreadable date ranges."""
    must: list[list[Clause]] = []
    must_not: list[Clause] = []
    filters: list[FieldFilter] = []
    ranges: list[DateRange] = []
    notes: list[str] = []
    join_next = False
    pos = 0
    while pos < len(text):
        m = _PIECE.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        negate, name, quoted, bare = m.group(1) == "-", m.group(2), m.group(3), m.group(4)
        if quoted is None and bare is None:  # "-" or "field:" at the very end
            continue
        if name is None and quoted is None and bare == "OR":
            join_next = bool(must)
            continue
        if name is None and bare and bare.endswith(":") and bare[:-1].lower() in _KNOWN:
            continue  # a filter with no value
        if name is not None:
            key = name.lower()
            value = quoted if quoted is not None else bare or ""
            if key in DATE_FIELDS:
                ranges.append(_date_range(key, value))
                join_next = False
                continue
            if key in KEYWORD_FIELDS or key in TEXT_FIELDS:
                made = _field_filter(key, value)
                if made is not None:
                    filters.append(made)
                join_next = False
                continue
            notes.append(f"unknown field {name!r}: searched as words")
        made_clauses = (_clauses(None, name) if name else []) + _clauses(quoted, bare)
        if not made_clauses:
            continue
        if negate:
            must_not.extend(made_clauses)
            join_next = False
            continue
        if join_next and must:
            must[-1].append(made_clauses[0])
            must.extend([c] for c in made_clauses[1:])
        else:
            must.extend([c] for c in made_clauses)
        join_next = False
    return ParsedQuery(
        must=tuple(AnyOf(tuple(group)) for group in must),
        must_not=tuple(must_not),
        filters=tuple(filters),
        ranges=tuple(ranges),
        notes=tuple(notes),
    )


def _clauses(quoted: str | None, bare: str | None) -> list[Clause]:
    if quoted is not None:
        terms = tuple(analyze(quoted))
        if not terms:
            return []
        return [Word(terms[0])] if len(terms) == 1 else [Phrase(terms)]
    assert bare is not None
    if bare.endswith("*") and len(bare) > 1:
        words = fold(bare.rstrip("*"))
        if words:
            # "ВХ-2026*": the words before the last are whole words, the last one a prefix.
            return [*(Word(w) for w in analyze(" ".join(words[:-1]))), Prefix(words[-1])]
    parts = analyze(bare)
    # "45/12-п" or "Альфа-Строй" typed bare: its parts belong together, as a phrase.
    if len(parts) > 1:
        return [Phrase(tuple(parts))]
    return [Word(t) for t in parts]


def normalize_keyword(value: str) -> str:
    """The exact form of a kind, journal, status or number (see ``search.analysis.keyword``)."""
    return keyword(value)


def _field_filter(key: str, value: str) -> FieldFilter | None:
    if key == "correspondent":
        terms = analyze(value)
        return FieldFilter(key, " ".join(terms)) if terms else None
    prefix = value.endswith("*")
    normalized = normalize_keyword(value.rstrip("*"))
    if not normalized:
        return None
    return FieldFilter(key, normalized, prefix=prefix)


_DAY = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def _date_range(key: str, value: str) -> DateRange:
    field_name = DATE_FIELDS[key]
    start_text, sep, end_text = value.partition("..")
    try:
        start = _bound(start_text, first=True) if start_text else None
        end = _bound(end_text if sep else start_text, first=False) if (end_text or not sep) else None
    except ValueError as e:
        raise QueryError(f"{key}:{value}: {e}; write dates as YYYY, YYYY-MM or YYYY-MM-DD, ranges as A..B") from None
    if start is None and end is None:
        raise QueryError(f"{key}:{value}: an empty range; write {key}:2026-01-01..2026-03-31")
    if start and end and start > end:
        raise QueryError(f"{key}:{value}: the range ends before it starts")
    return DateRange(field_name, start, end)


def _bound(text: str, *, first: bool) -> date:
    m = _DAY.match(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a date")
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else (1 if first else 12)
    if m.group(3):
        return date(year, month, int(m.group(3)))
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} does not exist")
    return date(year, month, 1 if first else calendar.monthrange(year, month)[1])
