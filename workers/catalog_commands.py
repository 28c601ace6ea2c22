"""``kartoteka card``, ``ledger`` and ``verify``: presenting the application's records."""

from __future__ import annotations

import argparse
import sys

from app import records
from app.records import MAX_PAGE
from app.services import Services
from app.settings import Settings
from app.verifying import verify as run_verify
from archive.model import OUTCOMES
from workers.arguments import int_in
from workers.exitcodes import ExitCode
from workers.output import print_json, progress


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("card", help="show one registration card")
    p.add_argument("card", metavar="ID_OR_NUMBER")
    p.add_argument("--json", action="store_true", help="print the card as JSON (as the API's /cards/ID)")
    p.set_defaults(run=card)

    p = sub.add_parser("ledger", help="every input file seen and its outcome")
    p.add_argument("--outcome", choices=list(OUTCOMES), help="only files with this outcome")
    p.add_argument("--batch", help="only this batch id")
    p.add_argument("--limit", type=int_in(1, MAX_PAGE), help=f"entries a page (1 to {MAX_PAGE})")
    p.add_argument("--after", metavar="CURSOR", help="continue after this cursor (printed as next_cursor)")
    p.add_argument("--json", action="store_true", help='print {"files": [...], "next_cursor"} as JSON')
    p.set_defaults(run=ledger)

    p = sub.add_parser("verify", help="re-check blob checksums and catalog consistency")
    p.add_argument("--json", action="store_true", help='print {"checked", "index", "problems"} as JSON')
    p.set_defaults(run=verify)


def card(args: argparse.Namespace, settings: Settings) -> int:
    view = records.get_card(Services(settings), args.card)
    data = records.card_json(view)
    if args.json:
        print_json(data)
        return ExitCode.OK
    c = view.card
    print(f"{c.registration_number}  {c.kind}  {c.status}  registered {data['registered_at']}")
    for label, value in (("title", c.title), ("number", c.doc_number), ("date", data.get("doc_date")), ("source", c.source_name)):
        if value:
            print(f"  {label}: {value}")
    for reason in c.review_reasons:
        print(f"  needs review: {reason.message}")
    for name, f in (c.fields or {}).items():
        if name in ("date", "number"):
            continue  # shown above
        print(f"  {name}: {f.value} (confidence {f.confidence:.2f}, page {f.page or '-'})")
    for page in view.pages:
        print(f"--- page {page.number} ({page.source}, confidence {page.confidence:.2f}) ---")
        print(page.text)
    return ExitCode.OK


def ledger(args: argparse.Namespace, settings: Settings) -> int:
    page = records.list_ledger(Services(settings), outcome=args.outcome, batch=args.batch, limit=args.limit, after=args.after)
    if args.json:
        print_json({"files": [records.ledger_entry(r) for r in page.entries], "next_cursor": page.next_cursor})
    else:
        for r in page.entries:
            print(f"{r.outcome:12} {r.card_number or '-':16} {r.path}" + (f"  ({r.reason})" if r.reason else ""))
        if page.next_cursor:
            print(f"more: kartoteka ledger --after {page.next_cursor}", file=sys.stderr)
    return ExitCode.OK


def verify(args: argparse.Namespace, settings: Settings) -> int:
    with progress("verify", "card", quiet=args.json) as bar:

        def on_total(total: int) -> None:
            bar.total = total
            bar.refresh()

        report = run_verify(Services(settings), on_total=on_total, progress=bar.update)
    if args.json:
        print_json(report.as_json())
    else:
        for p in report.problems:
            print(p)
        print(f"{_count(report.checked, 'blob')} checked, {_count(len(report.problems), 'problem')}")
    return ExitCode.BAD_INPUT if report.problems else ExitCode.OK


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
