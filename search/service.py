"""Open the configured index and answer a search: what the CLI (and later the API) call."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.errors import ConfigurationError
from search.backend import MAX_WINDOW, RawResult, SearchIndex, SearchRequest, Sort
from search.highlight import highlights
from search.query import AnyOf, DateRange, FieldFilter, Fuzzy, ParsedQuery, QueryError, Word, parse_query, unknown_field_note

__all__ = ["SearchResponse", "open_index", "run_search"]

#: a query's words probed one by one for the ``missing`` ones (each probe is a search of its own)
MAX_PROBED_WORDS = 8
#: the query that found cards, its result, and the close-match words it shows (or None)
Found = tuple[ParsedQuery, RawResult, str | None]


def open_index(search_url: str | None, data_dir: Path) -> SearchIndex:
    """The backend the settings name: ``http(s)://…`` is Elasticsearch, anything else embedded.

    ``None`` (the default) is a tantivy index in ``data_dir/index``; ``tantivy:///path`` or a
    plain path puts it elsewhere.
    """
    if search_url and search_url.startswith(("http://", "https://")):
        from search.elastic_index import ElasticIndex

        return ElasticIndex(search_url)
    from search.tantivy_index import TantivyIndex

    if not search_url:
        return TantivyIndex(data_dir / "index")
    if search_url.startswith("tantivy://"):
        return TantivyIndex(Path(search_url.removeprefix("tantivy://")))
    if "://" in search_url:
        raise ConfigurationError(f"search_url {search_url!r}: use http(s)://host:port/index or tantivy:///path")
    return TantivyIndex(Path(search_url))


@dataclass(frozen=True)
class SearchResponse:
    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: the typo-tolerant query shown instead of an empty result («ограниченой~»), or None
    close_matches: str | None = None
    #: words of the query no card contains (even one edit away), left out to give these hits
    missing: tuple[str, ...] = ()
    #: field names the query language does not have, searched as words (``notes`` says so too)
    unknown_fields: tuple[str, ...] = ()

    @property
    def other_notes(self) -> tuple[str, ...]:
        """The notes that say something ``unknown_fields``, ``missing`` or ``close_matches`` do
        not (what a page in another language still has to show as they are)."""
        said = {unknown_field_note(name) for name in self.unknown_fields}
        return tuple(n for n in self.notes if n not in said)

    def all_notes(self) -> tuple[str, ...]:
        """The notes, with the ones saying the hits are close matches or leave words out, in English."""
        notes = self.notes
        if self.missing:
            notes = (*notes, f"no card contains {', '.join(self.missing)}; showing results for the other words")
        if self.close_matches is not None:
            notes = (*notes, f"no exact matches; showing close matches for: {self.close_matches}")
        return notes

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"total": self.total, "hits": self.hits}
        if self.facets:
            out["facets"] = {k: [{"value": v, "count": n} for v, n in b] for k, b in self.facets.items()}
        if notes := self.all_notes():
            out["notes"] = list(notes)
        if self.close_matches is not None:
            out["close_matches"] = self.close_matches
        if self.missing:
            out["missing"] = list(self.missing)
        return out


def run_search(
    index: SearchIndex,
    text: str,
    *,
    filters: tuple[FieldFilter, ...] = (),
    ranges: tuple[DateRange, ...] = (),
    sort: Sort = "relevance",
    offset: int = 0,
    limit: int = 10,
    facets: bool = False,
) -> SearchResponse:
    """Parse ``text``, search, and dress the hits with highlights. QueryError for bad ranges.

    A query that finds nothing is searched once more with typo tolerance on every word
    (``ParsedQuery.tolerant``); if that finds cards, they are the result, with a note saying so.
    If it still finds nothing, the plain words that no card contains, even one edit away, are
    left out (``missing``) and the rest is searched, as typed and then tolerantly: «актами
    приёмки» over an archive whose acts all say «приёма-передачи» gives the acts, with a note
    naming «приемки», instead of nothing. Words that are all there but never together still
    give nothing: every word a card does have stays required.
    """
    if offset < 0 or not 1 <= limit <= 100:
        raise QueryError("a page holds 1 to 100 hits and starts at 0 or later")
    if offset + limit > MAX_WINDOW:
        raise QueryError(f"only the first {MAX_WINDOW} hits can be paged through; narrow the query with filters")
    query: ParsedQuery = parse_query(text).with_filters(filters, ranges)
    request = SearchRequest(query, sort, offset, limit, facets)
    raw: RawResult = index.search(request)
    notes, close = query.notes, None
    missing: tuple[str, ...] = ()
    if raw.total == 0:
        found = _tolerant_retry(index, request)
        if found is None and len(query.must) > 1:
            found, missing = _without_missing_words(index, request)
        if found is not None:
            query, raw, close = found
    marks = query.marks()
    hits = [
        {
            "card": h.card_id,
            "registration_number": h.stored.get("registration_number"),
            "kind": h.stored.get("kind"),
            "status": h.stored.get("status"),
            "title": h.stored.get("title"),
            "correspondent": h.stored.get("correspondent"),
            "registered_at": h.stored.get("registered_at"),
            "score": round(h.score, 4),
            "highlights": [x.as_json() for x in highlights(h.stored, marks)],
        }
        for h in raw.hits
    ]
    return SearchResponse(raw.total, hits, raw.facets, notes, close, missing, query.unknown_fields)


def _tolerant_retry(index: SearchIndex, request: SearchRequest) -> Found | None:
    """``request`` (which found nothing as typed) with typo tolerance on every word, or None."""
    tolerant = request.query.tolerant()
    if tolerant is None:
        return None
    raw = index.search(replace(request, query=tolerant))
    return (tolerant, raw, _tolerant_words(tolerant)) if raw.total else None


def _without_missing_words(index: SearchIndex, request: SearchRequest) -> tuple[Found | None, tuple[str, ...]]:
    """The request without the plain words no card (under the same filters) contains even one
    edit away, and those words; (None, ()) when there are none or nothing else is left."""
    query = request.query
    kept: list[AnyOf] = []
    missing: list[str] = []
    for group in query.must[:MAX_PROBED_WORDS]:
        word = group.clauses[0]
        if len(group.clauses) == 1 and isinstance(word, Word) and word.folded:
            alone = replace(query, must=(group,), optional=())
            probe = SearchRequest(alone.tolerant() or alone, limit=1)
            if index.search(probe).total == 0:
                missing.append(word.folded)
                continue
        kept.append(group)
    kept += query.must[MAX_PROBED_WORDS:]
    if not missing or not kept:
        return None, ()
    rest = replace(request, query=replace(query, must=tuple(kept)))
    raw = index.search(rest)
    found = (rest.query, raw, None) if raw.total else _tolerant_retry(index, rest)
    return found, tuple(missing) if found else ()


def _tolerant_words(query: ParsedQuery) -> str:
    """The tolerant words of a query as the query language writes them («ограниченой~»)."""
    return " ".join(f"{c.word}~" for g in query.must for c in g.clauses if isinstance(c, Fuzzy))
