"""Open the configured index and answer a search: what the CLI (and later the API) call."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.errors import ConfigurationError
from search.backend import MAX_WINDOW, RawResult, SearchIndex, SearchRequest, Sort
from search.highlight import highlights
from search.query import DateRange, FieldFilter, Fuzzy, ParsedQuery, QueryError, parse_query

__all__ = ["SearchResponse", "open_index", "run_search"]


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

    def all_notes(self) -> tuple[str, ...]:
        """The notes, with the one saying the hits are close matches, in English."""
        if self.close_matches is None:
            return self.notes
        return (*self.notes, f"no exact matches; showing close matches for: {self.close_matches}")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"total": self.total, "hits": self.hits}
        if self.facets:
            out["facets"] = {k: [{"value": v, "count": n} for v, n in b] for k, b in self.facets.items()}
        if notes := self.all_notes():
            out["notes"] = list(notes)
        if self.close_matches is not None:
            out["close_matches"] = self.close_matches
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
    """
    if offset < 0 or not 1 <= limit <= 100:
        raise QueryError("a page holds 1 to 100 hits and starts at 0 or later")
    if offset + limit > MAX_WINDOW:
        raise QueryError(f"only the first {MAX_WINDOW} hits can be paged through; narrow the query with filters")
    query: ParsedQuery = parse_query(text).with_filters(filters, ranges)
    request = SearchRequest(query, sort, offset, limit, facets)
    raw: RawResult = index.search(request)
    notes, close = query.notes, None
    tolerant = query.tolerant() if raw.total == 0 else None
    if tolerant is not None:
        # Nothing found as typed: once more with typo tolerance on every word.
        raw = index.search(replace(request, query=tolerant))
        if raw.total:
            query, close = tolerant, _tolerant_words(tolerant)
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
    return SearchResponse(raw.total, hits, raw.facets, notes, close)


def _tolerant_words(query: ParsedQuery) -> str:
    """The tolerant words of a query as the query language writes them («ограниченой~»)."""
    return " ".join(f"{c.word}~" for g in query.must for c in g.clauses if isinstance(c, Fuzzy))
