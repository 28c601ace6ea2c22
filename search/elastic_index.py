"""The scale-out backend: one Elasticsearch index (9.x), reached with the official client.

Text arrives already analysed (``search.analysis``) and the mapping splits it on whitespace
only (see SETTINGS), so Elasticsearch matches exactly the terms tantivy matches; scoring is BM25 with the same
parameters in both, on one shard. The search URL names the node and, in its path, the index:
``http://127.0.0.1:9200/kartoteka`` (the default index name is ``kartoteka``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch.helpers import BulkIndexError, bulk, scan

from ingest.errors import ConfigurationError
from search import ties
from search.backend import CARD_BOOST, FACETS, IndexUnavailable, RawHit, RawResult, SearchRequest, sorted_facet
from search.document import SCHEMA_VERSION, STRING_FIELDS, IndexDoc
from search.query import AnyOf, Clause, DateRange, FieldFilter, Fuzzy, ParsedQuery, Phrase, Prefix, Word

__all__ = ["ElasticIndex", "split_url"]

log = logging.getLogger(__name__)

_FACET_FETCH = 100
# Kind, journal and year, the facets with few values, are counted from one keyword holding all
# three ("kind␟journal␟year"): one ordinal read per matching document instead of three (at 1M
# cards, a word with ~740k hits: 4-6 ms instead of 8-9 for the three). Each card has one of each,
# so summing the triples' counts gives every facet exactly. Few distinct triples exist (kinds ×
# journals × years); if a search ever finds more than _JOINT_FETCH, the three are counted apart.
_JOINT = ("kind", "journal", "year")
_JOINT_SEP = "\x1f"
_JOINT_FETCH = 10_000
_TEXT = {"type": "text", "analyzer": "terms", "similarity": "BM25"}
_KEYWORD = {"type": "keyword"}
# Facet fields: their global ordinals are built at refresh instead of by the first search after.
_FACET = {"type": "keyword", "eager_global_ordinals": True}
MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"schema": SCHEMA_VERSION},
    "properties": {
        "id": _KEYWORD,
        "kind": _FACET,
        "journal": _KEYWORD,
        "status": _KEYWORD,
        "journal_facet": _FACET,
        "correspondent_facet": _FACET,
        "facet_key": _FACET,
        "numbers": _KEYWORD,
        "correspondent": _TEXT,
        "card_text": _TEXT,
        "card_exact": _TEXT,
        "body": _TEXT,
        "body_exact": _TEXT,
        "year": {"type": "integer"},
        "registered_at": {"type": "date_nanos"},  # «newest first» within a second: the embedded index's order
        "registered_day": {"type": "date", "format": "strict_date"},
        "doc_date": {"type": "date", "format": "strict_date"},
        "stored": {"type": "object", "enabled": False},
    },
}
SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    # The standard tokenizer, not whitespace: Elasticsearch's integ-test distribution (CI) lacks
    # the analysis-common module. On our terms (\w runs, ideographs alone, ≤ 64 characters,
    # separated by spaces) Unicode word breaking splits exactly where the spaces are.
    "analysis": {"analyzer": {"terms": {"type": "custom", "tokenizer": "standard"}}},
}


def split_url(url: str) -> tuple[str, str]:
    """``http://host:9200/name`` → (``http://host:9200``, ``name``); ConfigurationError for a
    name Elasticsearch refuses (it passed the start-up check, then every write failed)."""
    parts = urlsplit(url)
    name = parts.path.strip("/") or "kartoteka"
    problem = _name_problem(name)
    if problem:
        raise ConfigurationError(f"search index name {name!r} in KARTOTEKA_SEARCH_URL: {problem}")
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")), name


def _name_problem(name: str) -> str | None:
    """Why Elasticsearch would refuse ``name`` as an index name (its documented rules), or None."""
    if name != name.lower():
        return "must be lower case"
    if name in (".", "..") or name.startswith(("-", "_", "+")):
        return "must not be . or .. or start with -, _ or +"
    bad = sorted(set(name) & set('\\/*?"<>| ,#:'))
    if bad:
        return f"must not contain {' '.join(bad)}"
    if len(name.encode()) > 255:
        return "must be at most 255 bytes"
    return None


class ElasticIndex:
    """``SearchIndex`` over one Elasticsearch index, created with our mapping if missing."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.node, self.name = split_url(url)
        self.client = Elasticsearch(self.node, request_timeout=timeout, retry_on_timeout=True, max_retries=2)
        self._guard(self._prepare)

    def describe(self) -> str:
        return f"Elasticsearch index {self.name!r} at {self.node}"

    def _guard(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except TransportError as e:
            raise IndexUnavailable(f"{self.describe()} is unavailable ({_reason(e)}); retry later") from e
        except BulkIndexError as e:
            raise IndexUnavailable(f"{self.describe()} refused {len(e.errors)} documents: {str(e.errors[:1])[:300]}") from e
        except ApiError as e:
            if e.status_code in (429, 502, 503, 504):
                raise IndexUnavailable(f"{self.describe()} is busy: {e}") from e
            raise

    def _meta(self) -> dict[str, Any]:
        mapping = self.client.indices.get_mapping(index=self.name)
        return dict(next(iter(mapping.body.values()))["mappings"].get("_meta", {}))

    def _prepare(self) -> None:
        """Create the index if missing, or recreate it empty if it is of another schema."""
        if self.client.indices.exists(index=self.name):
            meta = self._meta()
            if meta.get("schema") == SCHEMA_VERSION:
                return
            log.warning("%s is of schema %s, not %s: recreating it", self.describe(), meta.get("schema"), SCHEMA_VERSION)
            self.client.indices.delete(index=self.name)
        self.client.indices.create(index=self.name, settings=SETTINGS, mappings=MAPPING)
        self.client.cluster.health(index=self.name, wait_for_status="yellow", timeout="30s")

    @property
    def needs_rebuild(self) -> bool:
        """True until a full reindex has completed into this index (see TantivyIndex)."""
        return not self._guard(self._meta).get("complete", False)

    def mark_complete(self) -> None:
        meta = {"schema": SCHEMA_VERSION, "complete": True}
        self._guard(self.client.indices.put_mapping, index=self.name, meta=meta)

    # -- writing -------------------------------------------------------------------------

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        actions = ({"_op_type": "index", "_index": self.name, "_id": d.id, "_source": _source(d)} for d in docs)
        self._guard(bulk, self.client, actions, chunk_size=500)

    def delete(self, card_ids: Sequence[str]) -> None:
        actions = ({"_op_type": "delete", "_index": self.name, "_id": i} for i in card_ids)
        self._guard(bulk, self.client, actions, raise_on_error=False)

    def commit(self) -> None:
        self._guard(self.client.indices.refresh, index=self.name)

    def close(self) -> None:
        self.client.close()

    # -- reading -------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._guard(self.client.count, index=self.name)["count"])

    def size_bytes(self) -> int:
        stats = self._guard(self.client.indices.stats, index=self.name, metric="store")
        return int(stats["indices"][self.name]["total"]["store"]["size_in_bytes"])

    def card_ids(self) -> Iterator[str]:
        try:
            for hit in scan(self.client, index=self.name, query={"query": {"match_all": {}}}, _source=False, size=2000):
                yield str(hit["_id"])
        except TransportError as e:
            raise IndexUnavailable(f"{self.describe()} is unavailable ({_reason(e)}); retry later") from e

    def search(self, request: SearchRequest) -> RawResult:
        """Hits, and with ``facets`` the count and facets in a second search sent alongside.

        Counting every match or aggregating over it forces a scored search to visit all of them;
        Lucene's top-k search skips the documents that cannot enter the page (block-max WAND).
        So with facets the page is a search that counts nothing, and the count and facets come
        from a ``size: 0`` search of the same query in filter context (no scores; Elasticsearch
        may serve it from its request cache). ``_msearch`` runs both at once: at 1M cards, where
        ~500k matches are common, a query costs the slower of the two instead of both.
        """
        query = _query(request.query)
        page: dict[str, Any] = {
            "query": query,
            "from": request.offset,
            "size": request.limit,
            "track_total_hits": not request.facets,
            "_source": ["stored"],
        }
        by_score = request.sort == "relevance" and request.query.has_text
        if by_score:  # the page and a few hits either side: ties (search.ties)
            start, count = ties.window(request.offset, request.limit)
            page.update({"from": start, "size": count})
        else:
            page["sort"] = [{"registered_at": {"order": "asc" if request.sort == "oldest" else "desc"}}]
        if not request.facets:
            found = self._guard(self.client.search, index=self.name, **page)
            total = int(found["hits"]["total"]["value"])
            return RawResult(total, self._page(found, page, request, by_score, total))
        counted = {
            "query": {"constant_score": {"filter": query}},
            "size": 0,
            "track_total_hits": True,
            "aggs": _facet_aggs(joint=True),
        }
        both = self._guard(self.client.msearch, index=self.name, searches=[{}, page, {}, counted])
        found, facets_found = (self._item(both, r) for r in both["responses"])
        aggs = facets_found["aggregations"]
        if aggs["joint"]["sum_other_doc_count"]:
            counted["aggs"] = _facet_aggs(joint=False)
            aggs = self._guard(self.client.search, index=self.name, **counted)["aggregations"]
        facets = {name: sorted_facet([(k, n) for k, n in buckets if k != ""], 10) for name, buckets in _buckets(aggs).items()}
        total = int(facets_found["hits"]["total"]["value"])
        return RawResult(total, self._page(found, page, request, by_score, total), facets)

    def _page(self, found: Any, page: dict[str, Any], request: SearchRequest, by_score: bool, total: int) -> list[RawHit]:
        """The hits of the page; by score, ties in the order both backends give them (search.ties)."""
        if not by_score:
            return _hits(found, by_score)

        def wider(start: int, count: int) -> list[RawHit]:
            again = {**page, "from": start, "size": count, "track_total_hits": False, "_source": False}
            more = self._guard(self.client.search, index=self.name, **again)["hits"]["hits"]
            return [RawHit(str(h["_id"]), float(h["_score"] or 0.0), {}) for h in more]

        def fill(missing: list[RawHit]) -> list[RawHit]:
            if not missing:
                return []
            ids = [h.card_id for h in missing]
            got = self._guard(self.client.mget, index=self.name, ids=ids, source=["stored"], realtime=False)["docs"]
            return [replace(h, stored=d["_source"]["stored"]) for h, d in zip(missing, got, strict=True) if d.get("found")]

        return ties.page(_hits(found, True), request.offset, request.limit, wider, fill, total)

    def _item(self, whole: Any, response: dict[str, Any]) -> dict[str, Any]:
        """One search's answer inside an ``_msearch`` reply, its error raised as ``search`` would."""
        if "error" not in response:
            return response
        status = int(response.get("status", 500))
        error = ApiError(str(response["error"])[:500], meta=replace(whole.meta, status=status), body=response)
        if status in (429, 502, 503, 504):
            raise IndexUnavailable(f"{self.describe()} is busy: {error}")
        raise error


def _facet_aggs(*, joint: bool) -> dict[str, Any]:
    fields = dict(FACETS)
    if joint:
        fields = {name: fld for name, fld in fields.items() if name not in _JOINT}
        fields["joint"] = "facet_key"
    return {name: {"terms": {"field": fld, "size": _JOINT_FETCH if name == "joint" else _FACET_FETCH}}
            for name, fld in fields.items()}


def _buckets(aggs: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """Facet name → (value, count) from the aggregations, the joint one summed per facet."""
    out = {name: [(str(b["key"]), int(b["doc_count"])) for b in aggs[name]["buckets"]] for name in FACETS if name in aggs}
    if "joint" in aggs:
        sums: dict[str, Counter[str]] = {name: Counter() for name in _JOINT}
        for b in aggs["joint"]["buckets"]:
            for name, value in zip(_JOINT, str(b["key"]).split(_JOINT_SEP), strict=True):
                sums[name][value] += int(b["doc_count"])
        out.update({name: list(c.items()) for name, c in sums.items()})
    return out


def _hits(found: Any, by_score: bool) -> list[RawHit]:
    return [
        RawHit(str(h["_id"]), float(h["_score"] or 0.0) if by_score else 0.0, h["_source"]["stored"])
        for h in found["hits"]["hits"]
    ]


def _reason(error: TransportError) -> str:
    """The innermost cause in a few words («Connection refused»), not the client's nested reprs."""
    cause: BaseException = error
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    text = str(cause).rsplit(": ", 1)[-1].strip() or type(cause).__name__
    return text[:200]


def _source(d: IndexDoc) -> dict[str, Any]:
    # The alternates of ambiguous words are more values of card_text and body, each its own:
    # a text field leaves a gap of 100 positions between values, so no phrase reaches them.
    text = {name: getattr(d, name) for name in STRING_FIELDS}
    if d.card_alternates:
        text["card_text"] = [d.card_text, *d.card_alternates]
    if d.body_alternates:
        text["body"] = [d.body, *d.body_alternates]
    return {
        **text,
        "numbers": list(d.numbers),
        "year": d.year,
        "facet_key": _JOINT_SEP.join(str(v).replace(_JOINT_SEP, " ") for v in (d.kind, d.journal_facet, d.year)),
        "registered_at": d.registered_at.isoformat(),
        "registered_day": d.registered_day.isoformat(),
        "doc_date": d.doc_date.isoformat() if d.doc_date else None,
        "stored": dict(d.stored),
    }


def _on_card_and_body(kind: str, card_field: str, body_field: str, value: Any) -> dict[str, Any]:
    card: dict[str, Any] = {kind: {card_field: {"boost": CARD_BOOST}}}
    body: dict[str, Any] = {kind: {body_field: {}}}
    key = "query" if kind == "match_phrase" else "value"
    card[kind][card_field][key] = value
    body[kind][body_field][key] = value
    return {"bool": {"should": [card, body]}}


def _fuzzy(clause: Fuzzy) -> dict[str, Any]:
    """Words within the distance, as tantivy's FuzzyTermQuery takes them: swaps of neighbours
    cost one, no prefix has to match, and the constant_score rewrite takes every matching term
    (max_expansions only limits the scoring rewrites) and scores 1 like tantivy's automaton."""
    def one(field: str, boost: float) -> dict[str, Any]:
        return {"fuzzy": {field: {
            "value": clause.word, "fuzziness": clause.distance, "transpositions": True,
            "prefix_length": 0, "rewrite": "constant_score", "boost": boost,
        }}}  # fmt: skip

    return {"bool": {"should": [one("card_exact", CARD_BOOST), one("body_exact", 1.0)]}}


def _best_of(queries: list[dict[str, Any]]) -> dict[str, Any]:
    """One query, or the best-scoring of several (see tantivy_index._best_of)."""
    if len(queries) == 1:
        return queries[0]
    return {"dis_max": {"queries": queries, "tie_breaker": 0.0}}


def _clause(clause: Clause) -> dict[str, Any]:
    if isinstance(clause, Word):
        return _best_of([_on_card_and_body("term", "card_text", "body", t) for t in clause.terms])
    if isinstance(clause, Phrase):
        return _best_of([_on_card_and_body("match_phrase", "card_text", "body", " ".join(v)) for v in clause.variants()])
    if isinstance(clause, Fuzzy):
        return _fuzzy(clause)
    assert isinstance(clause, Prefix)
    return _on_card_and_body("prefix", "card_exact", "body_exact", clause.prefix)


def _group(group: AnyOf) -> dict[str, Any]:
    if len(group.clauses) == 1:
        return _clause(group.clauses[0])
    return {"bool": {"should": [_clause(c) for c in group.clauses], "minimum_should_match": 1}}


def _filter(f: FieldFilter) -> dict[str, Any]:
    if f.field == "correspondent":
        return {"match_phrase": {"correspondent": f.value}}
    field = "numbers" if f.field == "number" else f.field
    return {"prefix" if f.prefix else "term": {field: f.value}}


def _range(r: DateRange) -> dict[str, Any]:
    field = "registered_day" if r.field == "registered" else "doc_date"
    bounds: dict[str, str] = {}
    if r.start is not None:
        bounds["gte"] = r.start.isoformat()
    if r.end is not None:
        bounds["lte"] = r.end.isoformat()
    return {"range": {field: bounds}}


def _query(q: ParsedQuery) -> dict[str, Any]:
    must = [_group(g) for g in q.must] or [{"match_all": {}}]
    return {
        "bool": {
            "must": must,
            "filter": [_filter(f) for f in q.filters] + [_range(r) for r in q.ranges],
            "must_not": [_clause(c) for c in q.must_not],
            # function words: optional (there is always a must clause beside them)
            "should": [_clause(c) for c in q.optional],
            "minimum_should_match": 0,
        }
    }
