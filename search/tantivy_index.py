"""The embedded backend: a tantivy index in a directory under the data directory.

One writer at a time may hold an index (tantivy's lock file). The writer is taken for a batch
of changes and given back at ``commit``, so the service's index feed and a ``kartoteka
reindex`` in another process take turns instead of one of them failing for good; searches never
need the lock. Deleted documents are dropped by tantivy's segment merges, which finish before the
lock is given back, so updating the same cards again and again does not grow the index
(paperless-ngx 3.0.5's grew to 18 GiB for 13k documents; tests/search/test_feed.py: 41 full
rewrites of 39 cards, size 1.00x of the first).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import tantivy

from ingest.errors import DiskFull, is_disk_full
from search.backend import (
    CARD_BOOST,
    FACETS,
    IndexUnavailable,
    RawHit,
    RawResult,
    SearchRequest,
    sorted_facet,
)
from search import ties
from search.document import SCHEMA_VERSION, STRING_FIELDS, IndexDoc, day_start
from search.query import AnyOf, Clause, DateRange, FieldFilter, Fuzzy, ParsedQuery, Phrase, Word

__all__ = ["TantivyIndex"]

log = logging.getLogger(__name__)

_VERSION_FILE = "kartoteka-index.json"
_WRITER_HEAP = 64_000_000
_FACET_FETCH = 100
Occur = tantivy.Occur


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in ("kind", "journal", "status", "journal_facet", "correspondent_facet"):
        b.add_text_field(name, fast=True, tokenizer_name="raw")
    b.add_text_field("numbers", tokenizer_name="raw")
    for name in ("correspondent", "card_text", "card_exact", "body", "body_exact"):
        b.add_text_field(name, tokenizer_name="whitespace")
    b.add_integer_field("year", indexed=True, fast=True)
    b.add_date_field("registered_at", indexed=True, fast=True)
    # The order of «newest first»: a date fast field keeps seconds only, and a batch registers
    # many cards a second (they came out in index order, oldest first, within the second).
    b.add_integer_field("registered_us", fast=True)
    b.add_date_field("registered_day", indexed=True, fast=True)
    b.add_date_field("doc_date", indexed=True, fast=True)
    b.add_bytes_field("stored", stored=True)
    return b.build()


class TantivyIndex:
    """``SearchIndex`` over a tantivy directory (created, or rebuilt empty if of another version)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema = _schema()
        self._prepare(path)
        try:
            self.index = tantivy.Index(self.schema, path=str(path))
        except ValueError as e:
            raise IndexUnavailable(f"cannot open the search index at {path}: {e}") from e
        self._writer: Any = None

    @staticmethod
    def _prepare(path: Path) -> None:
        """Create the index, or recreate it empty if it is of another schema version."""
        if _read_marker(path).get("schema") == SCHEMA_VERSION:
            return
        if path.exists():
            log.warning("search index at %s is not of schema %s: recreating it", path, SCHEMA_VERSION)
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        _write_marker(path, complete=False)

    @property
    def needs_rebuild(self) -> bool:
        """True until a full reindex has completed into this index (a new or recreated index
        must be filled from the catalog: the outbox only holds changes not yet applied)."""
        return not _read_marker(self.path).get("complete", False)

    def mark_complete(self) -> None:
        _write_marker(self.path, complete=True)

    def describe(self) -> str:
        return f"tantivy index at {self.path}"

    # -- writing -------------------------------------------------------------------------

    def _writer_now(self) -> Any:
        if self._writer is None:
            try:
                self._writer = self.index.writer(heap_size=_WRITER_HEAP, num_threads=1)
            except ValueError as e:  # LockBusy: another process is writing
                raise IndexUnavailable(f"the search index is being written by another process ({e})") from e
        return self._writer

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        writer = self._writer_now()
        for doc in docs:
            writer.delete_documents_by_term("id", doc.id)
            writer.add_document(_document(doc))

    def delete(self, card_ids: Sequence[str]) -> None:
        writer = self._writer_now()
        for card_id in card_ids:
            writer.delete_documents_by_term("id", card_id)

    def commit(self) -> None:
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        try:
            writer.commit()
        except (OSError, ValueError) as e:  # tantivy reports its io errors as ValueError text
            if is_disk_full(e) or "No space left on device" in str(e):
                raise DiskFull(self.path, stage="index") from e
            raise
        # Finishes the merges (which drop deleted documents and the files no segment uses any
        # more) and gives the lock back.
        writer.wait_merging_threads()
        self.index.reload()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.rollback()
            self._writer.wait_merging_threads()
            self._writer = None

    # -- reading -------------------------------------------------------------------------

    def count(self) -> int:
        self.index.reload()
        return int(self.index.searcher().num_docs)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def card_ids(self) -> Iterator[str]:
        self.index.reload()
        searcher = self.index.searcher()
        total = searcher.num_docs
        step = 5_000
        # Ordered by registration time, a page at a time: memory stays bounded.
        for offset in range(0, total, step):
            result = searcher.search(tantivy.Query.all_query(), step, count=False, order_by_field="registered_us", offset=offset)
            for _, address in result.hits:
                yield str(searcher.doc(address)["id"][0])

    def search(self, request: SearchRequest) -> RawResult:
        self.index.reload()
        searcher = self.index.searcher()
        query = self._query(request.query)
        by_score = request.sort == "relevance" and request.query.has_text
        if by_score:  # the page and a few hits either side: ties (search.ties)
            start, count = ties.window(request.offset, request.limit)
            result = searcher.search(query, count, count=True, offset=start)
        else:
            order = tantivy.Order.Asc if request.sort == "oldest" else tantivy.Order.Desc
            result = searcher.search(
                query, request.limit, count=True, order_by_field="registered_us", offset=request.offset, order=order
            )
        hits = [_hit(searcher, score, address, by_score) for score, address in result.hits]
        if by_score:
            hits = _tie_ordered(searcher, query, hits, request, int(getattr(result, "count", 0) or 0))
        facets: dict[str, list[tuple[str, int]]] = {}
        if request.facets:
            aggs = {name: {"terms": {"field": fld, "size": _FACET_FETCH}} for name, fld in FACETS.items()}
            found = searcher.aggregate(query, aggs)
            for name in FACETS:
                buckets = [(b["key"], b["doc_count"]) for b in found.get(name, {}).get("buckets", [])]
                facets[name] = sorted_facet([(k, n) for k, n in buckets if k != ""], 10)
        return RawResult(int(getattr(result, "count", 0) or 0), hits, facets)  # not in the stub

    # -- query translation ---------------------------------------------------------------

    def _term(self, field: str, value: str) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, value)

    def _on_card_and_body(self, card: tantivy.Query, body: tantivy.Query) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [(Occur.Should, tantivy.Query.boost_query(card, CARD_BOOST)), (Occur.Should, body)]
        )

    def _clause(self, clause: Clause) -> tantivy.Query:
        if isinstance(clause, Word):
            return _best_of(
                [self._on_card_and_body(self._term("card_text", t), self._term("body", t)) for t in clause.terms]
            )
        if isinstance(clause, Phrase):
            return _best_of([self._phrase(list(words)) for words in clause.variants()])
        if isinstance(clause, Fuzzy):
            return self._on_card_and_body(self._fuzzy("card_exact", clause), self._fuzzy("body_exact", clause))
        pattern = _regex_escape(clause.prefix) + ".*"
        return self._on_card_and_body(
            tantivy.Query.regex_query(self.schema, "card_exact", pattern),
            tantivy.Query.regex_query(self.schema, "body_exact", pattern),
        )

    def _phrase(self, words: list[str | tuple[int, str]]) -> tantivy.Query:
        return self._on_card_and_body(
            tantivy.Query.phrase_query(self.schema, "card_text", words),
            tantivy.Query.phrase_query(self.schema, "body", words),
        )

    def _fuzzy(self, field: str, clause: Fuzzy) -> tantivy.Query:
        # A constant score (tantivy's automaton queries score 1): Elasticsearch's fuzzy query
        # with the constant_score rewrite, which like this one takes every matching term.
        return tantivy.Query.fuzzy_term_query(
            self.schema, field, clause.word, distance=clause.distance, transposition_cost_one=True, prefix=False
        )

    def _group(self, group: AnyOf) -> tantivy.Query:
        if len(group.clauses) == 1:
            return self._clause(group.clauses[0])
        return tantivy.Query.boolean_query([(Occur.Should, self._clause(c)) for c in group.clauses])

    def _filter(self, f: FieldFilter) -> tantivy.Query:
        if f.field == "correspondent":
            words: list[str | tuple[int, str]] = list(f.value.split())
            if len(words) == 1:
                return self._term("correspondent", f.value)
            return tantivy.Query.phrase_query(self.schema, "correspondent", words)
        field = "numbers" if f.field == "number" else f.field
        if f.prefix:
            return tantivy.Query.regex_query(self.schema, field, _regex_escape(f.value) + ".*")
        return self._term(field, f.value)

    def _range(self, r: DateRange) -> tantivy.Query:
        field = "registered_day" if r.field == "registered" else "doc_date"
        return tantivy.Query.range_query(
            self.schema, field, tantivy.FieldType.Date, _bound(r.start), _bound(r.end)
        )

    def _query(self, q: ParsedQuery) -> tantivy.Query:
        parts: list[tuple[Any, tantivy.Query]] = [(Occur.Must, self._group(g)) for g in q.must]
        zero = 0.0
        parts += [(Occur.Must, tantivy.Query.const_score_query(self._filter(f), zero)) for f in q.filters]
        parts += [(Occur.Must, tantivy.Query.const_score_query(self._range(r), zero)) for r in q.ranges]
        parts += [(Occur.MustNot, self._clause(c)) for c in q.must_not]
        parts += [(Occur.Should, self._clause(c)) for c in q.optional]
        if not q.must:
            parts.append((Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(parts)


def _tie_ordered(
    searcher: Any, query: tantivy.Query, hits: list[RawHit], request: SearchRequest, total: int
) -> list[RawHit]:
    """The page with ties in the order Elasticsearch gives them too (search.ties)."""
    addresses: dict[str, Any] = {}

    def wider(start: int, count: int) -> list[RawHit]:
        found = []
        for score, address in searcher.search(query, count, count=False, offset=start).hits:
            card_id = str(searcher.doc(address)["id"][0])
            addresses[card_id] = address
            found.append(RawHit(card_id, float(score), {}))
        return found

    def fill(missing: list[RawHit]) -> list[RawHit]:
        return [_hit(searcher, h.score, addresses[h.card_id], True) for h in missing]

    return ties.page(hits, request.offset, request.limit, wider, fill, total)


def _hit(searcher: Any, score: float, address: Any, by_score: bool) -> RawHit:
    doc = searcher.doc(address)
    stored = json.loads(bytes(doc["stored"][0]).decode("utf-8"))
    return RawHit(str(doc["id"][0]), float(score) if by_score else 0.0, stored)


def _read_marker(path: Path) -> dict[str, Any]:
    try:
        found = json.loads((path / _VERSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write_marker(path: Path, *, complete: bool) -> None:
    tmp = path / (_VERSION_FILE + ".tmp")
    try:
        tmp.write_text(json.dumps({"schema": SCHEMA_VERSION, "complete": complete}), encoding="utf-8")
        tmp.replace(path / _VERSION_FILE)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFull(path, stage="index") from e
        raise


def _best_of(queries: list[tantivy.Query]) -> tantivy.Query:
    """One query, or the best-scoring of several (a word's lemmas, a phrase's variants: a card
    that has two of them scores as for one, as Elasticsearch's dis_max with tie_breaker 0)."""
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.disjunction_max_query(queries, tie_breaker=0.0)


def _bound(value: date | None) -> Any:
    return day_start(value) if value is not None else None


_REGEX_SPECIAL = frozenset(".^$*+?()[]{}|\\\"#&~<>@-")


def _regex_escape(text: str) -> str:
    return "".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in text)


def _microseconds(at: datetime) -> int:
    """Microseconds since the epoch (UTC), exactly: no float on the way."""
    delta = at.astimezone(timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _document(doc: IndexDoc) -> tantivy.Document:
    d = tantivy.Document()
    for name in STRING_FIELDS:
        d.add_text(name, getattr(doc, name))
    for term in doc.card_alternates:  # each a value of its own: no phrase reaches across
        d.add_text("card_text", term)
    for term in doc.body_alternates:
        d.add_text("body", term)
    for number in doc.numbers:
        d.add_text("numbers", number)
    d.add_integer("year", doc.year)
    d.add_date("registered_at", doc.registered_at)
    d.add_integer("registered_us", _microseconds(doc.registered_at))
    d.add_date("registered_day", day_start(doc.registered_day))
    if doc.doc_date is not None:
        d.add_date("doc_date", day_start(doc.doc_date))
    d.add_bytes("stored", json.dumps(doc.stored, ensure_ascii=False).encode("utf-8"))
    return d
