"""``kartoteka search`` and ``kartoteka reindex``."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date
from zoneinfo import ZoneInfo

from search.query import DateRange, FieldFilter, QueryError, normalize_keyword
from search.service import SearchResponse, open_index, run_search
from workers.exitcodes import ExitCode
from workers.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "search",
        help="search cards and the text of their pages",
        description='Words, "phrases", OR, -exclusions, prefix*, kind:/journal:/correspondent:/number:/status: '
        "filters and registered:/date: ranges (2026-01-01..2026-03-31) may be written in QUERY or given as options.",
    )
    p.add_argument("query", nargs="*", metavar="QUERY")
    p.add_argument("--kind")
    p.add_argument("--journal")
    p.add_argument("--correspondent")
    p.add_argument("--number", help="registration or document number (a trailing * for a prefix)")
    p.add_argument("--status", choices=["registered", "needs review", "verified"])
    p.add_argument("--from", dest="start", type=date.fromisoformat, metavar="YYYY-MM-DD", help="registered on or after")
    p.add_argument("--to", dest="end", type=date.fromisoformat, metavar="YYYY-MM-DD", help="registered on or before")
    p.add_argument("--sort", choices=["relevance", "newest", "oldest"], default="relevance")
    p.add_argument("--page", type=int, default=1, help="page of results, from 1")
    p.add_argument("--per-page", type=int, default=10)
    p.add_argument("--facets", action="store_true", help="count hits by kind, journal, year and correspondent")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=search)

    p = sub.add_parser("reindex", help="rebuild the search index from the catalog")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=reindex)


def _option_filters(args: argparse.Namespace) -> tuple[tuple[FieldFilter, ...], tuple[DateRange, ...]]:
    filters = []
    for name in ("kind", "journal", "number", "status"):
        value = getattr(args, name)
        if value:
            filters.append(FieldFilter(name, normalize_keyword(value.rstrip("*")), prefix=value.endswith("*")))
    if args.correspondent:
        from search.analysis import analyze_text

        filters.append(FieldFilter("correspondent", analyze_text(args.correspondent)))
    ranges = (DateRange("registered", args.start, args.end),) if args.start or args.end else ()
    return tuple(filters), ranges


def search(args: argparse.Namespace, settings: Settings) -> int:
    if args.page < 1 or not 1 <= args.per_page <= 100:
        raise QueryError("--page starts at 1 and --per-page is 1 to 100")
    filters, ranges = _option_filters(args)
    index = open_index(settings.search_url, settings.data_dir)
    try:
        response = run_search(
            index,
            " ".join(args.query),
            filters=filters,
            ranges=ranges,
            sort=args.sort,
            offset=(args.page - 1) * args.per_page,
            limit=args.per_page,
            facets=args.facets,
        )
    finally:
        index.close()
    if args.json:
        json.dump(response.as_json(), sys.stdout, ensure_ascii=False)
        print()
    else:
        _print(response, args)
    return ExitCode.OK


_MARK = re.compile(r"</?mark>")


def _print(response: SearchResponse, args: argparse.Namespace) -> None:
    import html

    first = (args.page - 1) * args.per_page
    print(f"{response.total} found" + (f", {first + 1}–{first + len(response.hits)} shown" if response.hits else ""))
    for note in response.notes:
        print(f"note: {note}")
    for hit in response.hits:
        print(f"{hit['registration_number']}  {hit['kind']}  {hit['title'] or ''}".rstrip())
        for h in hit["highlights"]:
            where = f"page {h['page']}" if h["page"] else h["field"]
            text = html.unescape(_MARK.sub(lambda m: "]" if m.group().startswith("</") else "[", h["snippet"]))
            print(f"    {where}: {text}")
    for name, buckets in response.facets.items():
        if buckets:
            print(f"{name}: " + ", ".join(f"{v} ({n})" for v, n in buckets))


def reindex(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: `kartoteka search` should not pay for the catalog's imports (SQLAlchemy,
    # Alembic) at every start.
    from tqdm import tqdm

    from search.feed import reindex as rebuild
    from workers.services import open_catalog

    catalog = open_catalog(settings)
    index = open_index(settings.search_url, settings.data_dir)
    try:
        with tqdm(total=catalog.count_cards(), unit="card", desc="reindex", file=sys.stderr, disable=None) as bar:
            totals = rebuild(catalog, index, ZoneInfo(settings.timezone), progress=bar.update)
    finally:
        index.close()
    if args.json:
        json.dump(totals.as_json(), sys.stdout)
        print()
    else:
        print(f"reindexed {totals.cards} cards; removed {totals.removed} stale; {totals.documents} in the index")
    return ExitCode.OK
