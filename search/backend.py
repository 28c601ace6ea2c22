"""The ``SearchIndex`` interface both backends implement, and what a search returns from one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ingest.errors import TransientError
from search.document import IndexDoc
from search.query import ParsedQuery

__all__ = [
    "FACETS",
    "MAX_WINDOW",
    "IndexUnavailable",
    "RawHit",
    "RawResult",
    "SearchIndex",
    "SearchRequest",
    "Sort",
]

Sort = Literal["relevance", "newest", "oldest"]
#: Facet name → the index field counted.
FACETS = {"kind": "kind", "journal": "journal_facet", "year": "year", "correspondent": "correspondent_facet"}
#: Deepest hit either backend returns (Elasticsearch's max_result_window): beyond it, narrow down.
MAX_WINDOW = 10_000
#: Extra weight of the card's own fields over page text.
CARD_BOOST = 2.0


class IndexUnavailable(TransientError):
    """The index cannot be reached or written now (Elasticsearch down, another writer); retry."""


@dataclass(frozen=True)
class SearchRequest:
    query: ParsedQuery
    sort: Sort = "relevance"
    offset: int = 0
    limit: int = 10
    facets: bool = False


@dataclass(frozen=True)
class RawHit:
    card_id: str
    score: float
    stored: Mapping[str, Any]


@dataclass(frozen=True)
class RawResult:
    total: int
    hits: list[RawHit]
    #: facet → [(value, count)], most frequent first, ties by value
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


class SearchIndex(Protocol):
    """A search backend. Writes become visible to searches after ``commit``."""

    def upsert(self, docs: Sequence[IndexDoc]) -> None: ...

    def delete(self, card_ids: Sequence[str]) -> None: ...

    def commit(self) -> None: ...

    def search(self, request: SearchRequest) -> RawResult: ...

    def card_ids(self) -> Iterator[str]: ...

    def count(self) -> int: ...

    def size_bytes(self) -> int: ...

    def describe(self) -> str: ...

    @property
    def needs_rebuild(self) -> bool:
        """True until a full reindex has completed into this index."""
        ...

    def mark_complete(self) -> None:
        """Record that a full reindex completed (``reindex`` calls it)."""
        ...

    def close(self) -> None: ...


def sorted_facet(buckets: Sequence[tuple[str, int]], size: int) -> list[tuple[str, int]]:
    """Buckets in one order on both backends: most documents first, then by value."""
    return sorted(((str(k), int(n)) for k, n in buckets if n > 0), key=lambda b: (-b[1], b[0]))[:size]
