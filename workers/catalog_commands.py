"""``kartoteka card``, ``ledger`` and ``verify``: reading the catalog."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from archive.catalog import Catalog
from archive.model import CardView
from ingest.errors import TransientError
from search.service import open_index
from workers import pipeline
from workers.exitcodes import ExitCode
from workers.services import build_services
from workers.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("card", help="show one registration card")
    p.add_argument("card", metavar="ID_OR_NUMBER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=card)

    p = sub.add_parser("ledger", help="every input file seen and its outcome")
    p.add_argument("--outcome", choices=["pending", "archived", "duplicate", "quarantined"])
    p.add_argument("--batch", help="only this batch id")
    p.add_argument("--limit", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=ledger)

    p = sub.add_parser("verify", help="re-check blob checksums and catalog consistency")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=verify)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def card_json(view: CardView) -> dict[str, Any]:
    out = _plain(asdict(view.card))
    out["pages"] = [_plain(asdict(p)) for p in view.pages]
    out["attachments"] = [_plain(asdict(a)) for a in view.attachments]
    out["history"] = [_plain(asdict(h)) for h in view.history]
    return out  # type: ignore[no-any-return]


def card(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    view = services.catalog.get_card(args.card)
    if view is None:
        print(f"kartoteka: no card {args.card!r}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    data = card_json(view)
    if args.json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return ExitCode.OK
    c = view.card
    print(f"{c.registration_number}  {c.kind}  {c.status}  registered {data['registered_at']}")
    for label, value in (("title", c.title), ("number", c.doc_number), ("date", data.get("doc_date")), ("source", c.source_name)):
        if value:
            print(f"  {label}: {value}")
    for name, f in (c.fields or {}).items():
        if name in ("date", "number"):
            continue  # shown above
        print(f"  {name}: {f.value} (confidence {f.confidence:.2f}, page {f.page or '-'})")
    for page in view.pages:
        print(f"--- page {page.number} ({page.source}, confidence {page.confidence:.2f}) ---")
        print(page.text)
    return ExitCode.OK


def ledger(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    rows = services.catalog.ledger(outcome=args.outcome, batch_id=args.batch, limit=args.limit)
    if args.json:
        json.dump({"files": [pipeline.ledger_entry(r) for r in rows]}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for r in rows:
            print(f"{r.outcome:12} {r.card_number or '-':16} {r.path}" + (f"  ({r.reason})" if r.reason else ""))
    return ExitCode.OK


def _verify_index(settings: Settings, catalog: Catalog, card_ids: set[str], problems: list[str]) -> dict[str, Any]:
    """Compare the search index with the catalog. Changes the outbox has not fed yet are
    reported as pending, not as problems: the index is behind, not wrong."""
    pending = {row.card_id for row in catalog.outbox_pending(limit=100_000)}
    try:
        index = open_index(settings.search_url, settings.data_dir)
    except TransientError as e:
        problems.append(f"search index: cannot be checked ({e})")
        return {"documents": None, "pending": len(pending)}
    try:
        indexed = set(index.card_ids())
    finally:
        index.close()
    missing = sorted(card_ids - indexed - pending)
    stale = sorted(indexed - card_ids - pending)
    if missing:
        problems.append(f"search index: {len(missing)} cards missing (e.g. {missing[0]}); run `kartoteka reindex`")
    if stale:
        problems.append(f"search index: {len(stale)} documents of no card (e.g. {stale[0]}); run `kartoteka reindex`")
    return {"documents": len(indexed), "pending": len(pending), "missing": len(missing), "stale": len(stale)}


def verify(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    problems: list[str] = []
    checked = 0
    card_ids: set[str] = set()
    for view in services.catalog.iter_cards():
        card_ids.add(view.card.id)
        for att in view.attachments:
            checked += 1
            if not services.blobs.exists(att.sha256):
                problems.append(f"card {view.card.registration_number}: {att.role} {att.name} is missing ({att.sha256})")
            elif not services.blobs.verify(att.sha256):
                problems.append(f"card {view.card.registration_number}: {att.role} {att.name} is corrupt ({att.sha256})")
        if not any(a.role == "original" for a in view.attachments):
            problems.append(f"card {view.card.registration_number}: no original attached")
    for row in services.catalog.ledger(outcome="archived"):
        if row.card_id is None:
            problems.append(f"input {row.path}: archived without a card")
    index_report = _verify_index(settings, services.catalog, card_ids, problems)
    if args.json:
        out = {"checked": checked, "index": index_report, "problems": problems}
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for p in problems:
            print(p)
        print(f"{checked} blobs checked, {len(problems)} problems", file=sys.stderr)
    return ExitCode.BAD_INPUT if problems else ExitCode.OK
