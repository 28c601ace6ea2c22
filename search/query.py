"""The query language, parsed once and translated by each backend.

    договор аренды            both words (AND is the default)
    "акт приёма"              a phrase
    счёт OR инвойс            either (binds tighter than the implicit AND)
    -черновик  -"не для"      exclusion
    догов*                    prefix (of the unstemmed word)
    ограниченой~  счёт~1      typo tolerance (also finds words a few letters off)
    kind:payment_invoice  journal:ВХ  correspondent:"ТОО Альфа"  number:45/12-п  number:ВХ-2026*
    registered:2026-01-01..2026-03-31   date:2024-03..2024-06   registered:2026   year:2026

Words match every form of the word (``search.analysis``): a Russian word by its dictionary
lemmas, all of them when a form belongs to several words («устав» finds «уставом» and
«устали»), a word the dictionary lacks and English by their Snowball stem, Kazakh by a light
suffix stripper.

Function words (prepositions, conjunctions, particles: «о», «об», «и», «для», «және», «of»,
the list in ``search.stopwords``) are optional: they never exclude a card, a card that has them
scores a little higher. A query of function words only requires them. In a ``"phrase"`` they
must stand where they stand, like any word.

``word~`` also finds the words within an edit distance of the typed one (an inserted, dropped
or changed letter, or two neighbours swapped, each one edit): 1 for words of 3 to 7 letters, 2
for words of 8 letters or more (``LONG_WORD``); ``word~1`` or ``word~2`` sets it. Counted on the
folded, unstemmed word against the indexed words («ограпичениой» from a photographed page is 2
off «ограниченной»); shorter words and words with digits are matched exactly. It is in addition
to the usual forms of the word. A query that finds nothing is run once more with tolerance on
every word, and the result says so in a note (``tolerant``).

Malformed input never fails: an unclosed quote closes at the end, an unknown ``field:`` is
read as plain words, a stray OR or ``-`` is ignored. The one thing refused is a date range
that cannot be read (``registered:2026-13-45``): silently ignoring it would show the clerk
documents outside the range they asked for, so it raises ``QueryError`` naming the bad part.
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass, field, replace
from datetime import date

from ingest.errors import PermanentError
from search.analysis import analyze, corrections, fold, keyword, lemmas, phrase_terms
from search.stopwords import is_stopword

__all__ = [
    "LONG_WORD",
    "MAX_PHRASE_VARIANTS",
    "AnyOf",
    "Clause",
    "DateRange",
    "FieldFilter",
    "Fuzzy",
    "Marks",
    "ParsedQuery",
    "Phrase",
    "Prefix",
    "QueryError",
    "Word",
    "parse_query",
    "tolerance",
]

KEYWORD_FIELDS = ("kind", "journal", "number", "status")
TEXT_FIELDS = ("correspondent",)
DATE_FIELDS = {"registered": "registered", "date": "doc_date", "year": "registered"}
_KNOWN = frozenset((*KEYWORD_FIELDS, *TEXT_FIELDS, *DATE_FIELDS))
#: Words of this many letters or more get two edits of tolerance, shorter ones (from 3) one.
LONG_WORD = 8
_SHORTEST_TOLERANT = 3
#: A phrase is searched as every combination of its positions' terms, up to this many.
MAX_PHRASE_VARIANTS = 16


class QueryError(PermanentError):
    """The search cannot be run as asked.

    A date range that is not a date, a page past the window, text in another encoding: the
    message says which and what to write instead."""


@dataclass(frozen=True, slots=True)
class Word:
    """A word: any of its terms (all lemmas of an ambiguous form, most probable first)."""

    terms: tuple[str, ...]
    folded: str = ""  # as typed, folded: what tolerance is counted on


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words in a row: per position, the terms that may stand there (``phrase_terms``)."""

    terms: tuple[tuple[str, ...], ...]

    def variants(self) -> list[tuple[str, ...]]:
        """The term sequences to search (at most MAX_PHRASE_VARIANTS; past that, the later
        positions keep only the query word's own term)."""
        positions = [list(options[:1]) for options in self.terms]
        count = 1
        for i, options in enumerate(self.terms):
            if count * len(options) > MAX_PHRASE_VARIANTS:
                break
            positions[i] = list(options)
            count *= len(options)
        return list(itertools.product(*positions))


@dataclass(frozen=True, slots=True)
class Prefix:
    prefix: str  # folded, unstemmed


@dataclass(frozen=True, slots=True)
class Fuzzy:
    """Words within ``distance`` edits (Damerau: a swap of neighbours is one) of ``word``
    (folded, unstemmed), matched against the indexed folded words."""

    word: str
    distance: int


Clause = Word | Phrase | Prefix | Fuzzy


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
class Marks:
    """What the hits should show marked: words with one of ``terms`` among their lemmas, words
    starting with a prefix, words within a fuzzy distance, and phrase runs (per position, the
    term a word stands as at its position must be one of the position's)."""

    terms: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    phrases: tuple[tuple[frozenset[str], ...], ...] = ()
    fuzzy: tuple[Fuzzy, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms or self.prefixes or self.phrases or self.fuzzy)


def tolerance(folded: str) -> int:
    """The edits ``word~`` allows for a folded word: none for short words and numbers."""
    if len(folded) < _SHORTEST_TOLERANT or any(ch.isdigit() for ch in folded):
        return 0
    return 2 if len(folded) >= LONG_WORD else 1


@dataclass(frozen=True)
class ParsedQuery:
    must: tuple[AnyOf, ...] = ()
    must_not: tuple[Clause, ...] = ()
    filters: tuple[FieldFilter, ...] = ()
    ranges: tuple[DateRange, ...] = ()
    notes: tuple[str, ...] = field(default=())  # what was read differently from how it was typed
    #: field names the query language does not have (searched as words; each has a note too)
    unknown_fields: tuple[str, ...] = ()
    optional: tuple[Clause, ...] = ()  # function words: they only add to the score

    @property
    def has_text(self) -> bool:
        return bool(self.must)

    def marks(self) -> Marks:
        """What the hits should show marked (function words, being optional, are not)."""
        terms: set[str] = set()
        prefixes: list[str] = []
        phrases: list[tuple[frozenset[str], ...]] = []
        fuzzy: list[Fuzzy] = []
        for clause in (c for group in self.must for c in group.clauses):
            if isinstance(clause, Word):
                terms.update(clause.terms)
            elif isinstance(clause, Prefix):
                prefixes.append(clause.prefix)
            elif isinstance(clause, Fuzzy):
                fuzzy.append(clause)
            else:
                phrases.append(tuple(frozenset(options) for options in clause.terms))
        for f in self.filters:
            if f.field == "correspondent":
                terms.update(f.value.split())
        return Marks(frozenset(terms), tuple(prefixes), tuple(phrases), tuple(fuzzy))

    def positive_terms(self) -> tuple[set[str], tuple[str, ...]]:
        """Terms and folded prefixes the hits should show highlighted (see ``marks``)."""
        marks = self.marks()
        return set(marks.terms), marks.prefixes

    def with_filters(
        self, filters: tuple[FieldFilter, ...] = (), ranges: tuple[DateRange, ...] = ()
    ) -> ParsedQuery:
        return replace(self, filters=self.filters + filters, ranges=self.ranges + ranges)

    def tolerant(self) -> ParsedQuery | None:
        """This query with typo tolerance on every word it requires, or None if that changes
        nothing (no word long enough, or all already tolerant)."""
        groups: list[AnyOf] = []
        changed = False
        for group in self.must:
            clauses = list(group.clauses)
            have = {c.word for c in clauses if isinstance(c, Fuzzy)}
            for c in group.clauses:
                if isinstance(c, Word) and c.folded not in have and tolerance(c.folded):
                    # and the dictionary's words one edit away, scored as words (analysis.corrections)
                    clauses.extend((Fuzzy(c.folded, tolerance(c.folded)), *_corrected(c.folded)))
                    have.add(c.folded)
                    changed = True
            groups.append(AnyOf(tuple(clauses)))
        return replace(self, must=tuple(groups)) if changed else None


# A piece: optional '-', optional 'field:', then a quoted string or a bare run of non-space.
# A field name is letters in any script: «автор:Иванов» is an unknown field searched as words
# with a note, as «author:Иванов» is (with Latin letters only, it found nothing and said nothing).
_PIECE = re.compile(r'\s*(-?)(?:([^\W\d]+):)?(?:"([^"]*)(?:"|$)|(\S+))')
_TILDE = re.compile(r"~([012])?$")


def parse_query(text: str) -> ParsedQuery:
    """Parse ``text``; never raises except ``QueryError`` for unreadable date ranges."""
    parser = _Parser()
    pos = 0
    while pos < len(text):
        m = _PIECE.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        parser.piece(m.group(1) == "-", m.group(2), m.group(3), m.group(4))
    return parser.result()


class _Parser:
    """The pieces of a query so far: groups of clauses, each group required unless it is a
    lone function word."""

    def __init__(self) -> None:
        self.must: list[list[Clause]] = []
        self.function_word: list[bool] = []  # per group in must
        self.must_not: list[Clause] = []
        self.filters: list[FieldFilter] = []
        self.ranges: list[DateRange] = []
        self.notes: list[str] = []
        self.unknown_fields: list[str] = []
        self.join_next = False

    def piece(self, negate: bool, name: str | None, quoted: str | None, bare: str | None) -> None:
        if quoted is None and bare is None:  # "-" or "field:" at the very end
            return
        if name is None and quoted is None and bare == "OR":
            self.join_next = bool(self.must)
            return
        if name is None and bare and bare.endswith(":") and bare[:-1].lower() in _KNOWN:
            return  # a filter with no value
        if name is not None and self._field(name, quoted if quoted is not None else bare or ""):
            self.join_next = False
            return
        made = (_clauses(None, name) if name else []) + _clauses(quoted, bare)
        if made:
            self._add(made, negate, stop=name is None and quoted is None and _is_function_word(bare))
        self.join_next = False

    def _field(self, name: str, value: str) -> bool:
        key = name.lower()
        if key in DATE_FIELDS:
            self.ranges.append(_date_range(key, value))
            return True
        if key in KEYWORD_FIELDS or key in TEXT_FIELDS:
            made = _field_filter(key, value)
            if made is not None:
                self.filters.append(made)
            return True
        self.notes.append(unknown_field_note(name))
        self.unknown_fields.append(name)
        return False

    def _add(self, made: list[tuple[Clause, ...]], negate: bool, *, stop: bool) -> None:
        """Add ``made``: each item a word's alternatives (a word and its tolerant twin)."""
        if negate:
            self.must_not.extend(c for alternatives in made for c in alternatives)
        elif self.join_next and self.must:
            self.must[-1].extend(made[0])
            self.function_word[-1] = False
            self.must.extend(list(a) for a in made[1:])
            self.function_word.extend(False for _ in made[1:])
        else:
            self.must.extend(list(a) for a in made)
            self.function_word.extend(stop for _ in made)

    def result(self) -> ParsedQuery:
        required = [AnyOf(tuple(g)) for g, stop in zip(self.must, self.function_word, strict=True) if not stop]
        optional = [g[0] for g, stop in zip(self.must, self.function_word, strict=True) if stop]
        if not required:  # only function words: they are what the clerk looks for
            required, optional = [AnyOf((c,)) for c in optional], []
        return ParsedQuery(
            must=tuple(required),
            must_not=tuple(self.must_not),
            filters=tuple(self.filters),
            ranges=tuple(self.ranges),
            notes=tuple(self.notes),
            optional=tuple(optional),
            unknown_fields=tuple(self.unknown_fields),
        )


def unknown_field_note(name: str) -> str:
    """The note (English, for the command line and the API) on a field the language lacks."""
    return f"unknown field {name!r}: searched as words"


def _is_function_word(bare: str | None) -> bool:
    """A bare function word («об», «об~»: typo tolerance does not make it required; «об*»,
    a prefix, is a different ask and is)."""
    words = fold(_TILDE.sub("", bare or ""))
    return len(words) == 1 and is_stopword(words[0]) and not (bare or "").endswith("*")


def _word(folded: str) -> Word:
    return Word(lemmas(folded), folded)


def _phrase(words: list[str]) -> Clause:
    if len(words) == 1:
        return _word(words[0])
    return Phrase(tuple(phrase_terms(w) for w in words))


def _clauses(quoted: str | None, bare: str | None) -> list[tuple[Clause, ...]]:
    """The clauses of a piece, each with its alternatives (``word~``: the word or its twins)."""
    if quoted is not None:
        words = fold(quoted)
        return [(_phrase(words),)] if words else []
    assert bare is not None
    if bare.endswith("*") and len(bare) > 1:
        words = fold(bare.rstrip("*"))
        if words:
            # "ВХ-2026*": the words before the last are whole words, the last one a prefix.
            return [*((_word(w),) for w in words[:-1]), (Prefix(words[-1]),)]
    tilde = _TILDE.search(bare)
    words = fold(bare[: tilde.start()] if tilde else bare)
    # "45/12-п" or "Альфа-Строй" typed bare: its parts belong together, as a phrase.
    if len(words) != 1:
        return [(_phrase(words),)] if words else []
    if tilde is None:
        return [(_word(words[0]),)]
    distance = min(int(tilde.group(1)), 2) if tilde.group(1) else tolerance(words[0])
    if distance == 0 or any(ch.isdigit() for ch in words[0]):
        return [(_word(words[0]),)]
    return [(_word(words[0]), Fuzzy(words[0], distance), *_corrected(words[0]))]


def _corrected(folded: str) -> tuple[Word, ...]:
    """The dictionary's words one edit from a mistyped word, as one more Word (or none)."""
    fixed = tuple(t for t in corrections(folded) if t not in lemmas(folded))
    return (Word(fixed, folded),) if fixed else ()


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
