"""``kartoteka search`` and ``kartoteka reindex``: presenting app/searching.py."""

from __future__ import annotations

import argparse
import html
import re
from datetime import date

from app.searching import MAX_PER_PAGE, SearchParams, reindex as run_reindex, search as run_search
from app.services import Services
from app.settings import Settings
from search.backend import MAX_WINDOW
from search.service import SearchResponse
from workers.arguments import int_in
from workers.exitcodes import ExitCode, UsageError
from workers.output import print_json, progress


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "search",
        help="search cards and the text of their pages",
        description='Words, "phrases", OR, -exclusions, prefix*, kind:/journal:/correspondent:/number:/status: '
        "filters and registered:/date: ranges (2026-01-01..2026-03-31) may be written in QUERY or given as options.",
    )
    p.add_argument("query", nargs="*", metavar="QUERY")
    p.add_argument("--kind", help="only this document kind (see `kartoteka review kinds`)")
    p.add_argument("--journal", help="only this journal (the registration number's prefix)")
    p.add_argument("--correspondent", help="only cards of this correspondent")
    p.add_argument("--number", help="registration or document number (a trailing * for a prefix)")
    p.add_argument("--status", choices=["registered", "needs review", "verified"], help="only cards in this status")
    p.add_argument("--from", dest="start", type=date.fromisoformat, metavar="YYYY-MM-DD", help="registered on or after")
    p.add_argument("--to", dest="end", type=date.fromisoformat, metavar="YYYY-MM-DD", help="registered on or before")
    p.add_argument("--sort", choices=["relevance", "newest", "oldest"], default="relevance", help="order of the hits")
    p.add_argument("--page", type=int_in(1), default=1, help="page of results, from 1")
    p.add_argument("--per-page", type=int_in(1, MAX_PER_PAGE), default=10, help=f"hits a page (1 to {MAX_PER_PAGE})")
    p.add_argument("--facets", action="store_true", help="count hits by kind, journal, year and correspondent")
    p.add_argument("--json", action="store_true", help='print {"total", "hits": [...]} as JSON')
    p.set_defaults(run=search)

    p = sub.add_parser("reindex", help="rebuild the search index from the catalog")
    p.add_argument("--json", action="store_true", help='print {"cards", "removed", "documents"} as JSON')
    p.set_defaults(run=reindex)


def search(args: argparse.Namespace, settings: Settings) -> int:
    if args.page * args.per_page > MAX_WINDOW:  # the index pages through its first hits only
        raise UsageError(
            f"--page {args.page}: only the first {MAX_WINDOW} hits can be paged through (page "
            f"{MAX_WINDOW // args.per_page} is the last at --per-page {args.per_page}); narrow the query with filters"
        )
    params = SearchParams(
        query=" ".join(args.query),
        kind=args.kind,
        journal=args.journal,
        correspondent=args.correspondent,
        number=args.number,
        status=args.status,
        start=args.start,
        end=args.end,
        sort=args.sort,
        page=args.page,
        per_page=args.per_page,
        facets=args.facets,
    )
    response = run_search(Services(settings), params)
    if args.json:
        print_json(response.as_json())
    else:
        _print(response, params)
    return ExitCode.OK


_MARK = re.compile(r"</?mark>")


def _print(response: SearchResponse, params: SearchParams) -> None:
    first = (params.page - 1) * params.per_page
    print(f"{response.total} found" + (f", {first + 1}–{first + len(response.hits)} shown" if response.hits else ""))
    for note in response.all_notes():
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
    with progress("reindex", "card", quiet=args.json) as bar:

        def on_total(total: int) -> None:
            bar.total = total
            bar.refresh()

        totals = run_reindex(Services(settings), on_total=on_total, progress=bar.update)
    if args.json:
        print_json(totals.as_json())
    else:
        print(f"reindexed {totals.cards} cards; removed {totals.removed} stale; {totals.documents} in the index")
    return ExitCode.OK
