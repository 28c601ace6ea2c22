"""``kartoteka review``: the review queue, corrections, and the organisations directory.

    kartoteka review list [--limit N]                  cards needing review, oldest first, with reasons
    kartoteka review show CARD                         one card with its reasons
    kartoteka review set CARD [--kind K] [--field NAME=VALUE]... [--correspondent NAME] [--title T]
    kartoteka review accept CARD                       confirm the card as it is
    kartoteka review kinds                             the configured kinds
    kartoteka review orgs [--proposed]                 the directory; org-add / org-accept / org-reject
    kartoteka review retrain                           train the kind model now

Every action is one call into app/review.py (what a correction does is said there); this module
parses the options and prints the result. Running services pick a model retrained here up
within ``classify.reload_seconds``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from app import records, review
from app.services import Services
from app.settings import Settings
from archive.errors import InvalidChange
from archive.model import OrganisationRow
from workers.arguments import int_in
from workers.exitcodes import ExitCode, UsageError
from workers.output import print_json


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    review = sub.add_parser("review", help="the review queue: list, show, correct and accept cards")
    commands = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")

    def action(name: str, run: Any, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(run=run)
        return p

    p = action("list", list_queue, "cards needing review, oldest first")
    p.add_argument("--limit", type=int_in(1), help="at most this many cards")
    p = action("show", show, "one card with the reasons it needs review")
    p.add_argument("card", metavar="CARD", help="card id or registration number")
    p = action("set", correct, "correct a card and mark it verified")
    p.add_argument("card", metavar="CARD")
    p.add_argument("--kind", help="the document kind (see `kartoteka review kinds`)")
    p.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                   help="a field value, e.g. date=2024-03-12, number=45/12-п, amount=1500.00, bin=…; repeatable")  # fmt: skip
    p.add_argument("--correspondent", help="the correspondent's name; it is added to the directory")
    p.add_argument("--title", help="the card's title")
    p.add_argument("--actor", help="who corrects (default: clerk:<login>)")
    p = action("accept", accept, "confirm a card as it is and mark it verified")
    p.add_argument("card", metavar="CARD")
    p.add_argument("--actor", help="who accepts (default: clerk:<login>)")
    action("kinds", kinds, "the configured document kinds")
    p = action("orgs", orgs, "the organisations directory")
    p.add_argument("--proposed", action="store_true", help="only proposals awaiting a decision")
    p = action("org-add", org_add, "add an organisation to the directory")
    p.add_argument("name")
    p.add_argument("--tax-id", help="BIN/IIN or INN")
    p = action("org-accept", org_accept, "accept a proposed organisation")
    p.add_argument("org", metavar="ID_OR_KEY")
    p.add_argument("--name", help="the name to keep (default: as proposed)")
    p.add_argument("--tax-id", help="BIN/IIN or INN")
    p = action("org-reject", org_reject, "remove a proposed (or any) directory entry")
    p.add_argument("org", metavar="ID_OR_KEY")
    p = action("retrain", retrain, "train the kind model from verified cards now")
    # It trains now whatever number of cards is new (services retrain by themselves every
    # retrain_after verified cards); --force, which once asked for that, is still accepted.
    p.add_argument("--force", action="store_true", help=argparse.SUPPRESS)


def list_queue(args: argparse.Namespace, settings: Settings) -> int:
    cards = review.review_queue(Services(settings), limit=args.limit)
    if args.json:
        print_json({"total": len(cards), "cards": [review.review_summary(c) for c in cards]})
        return ExitCode.OK
    for c in cards:
        print(f"{c.registration_number:16} {c.kind:24} {c.title[:60]}")
        for reason in c.review_reasons:
            print(f"{'':17}- {reason.message}")
    print(f"{len(cards)} cards need review", file=sys.stderr)
    return ExitCode.OK


def show(args: argparse.Namespace, settings: Settings) -> int:
    view = records.get_card(Services(settings), args.card)
    if args.json:
        print_json(records.card_json(view))
        return ExitCode.OK
    c = view.card
    print(f"{c.registration_number}  {c.kind}  {c.status}  {c.title}")
    for reason in c.review_reasons:
        print(f"  needs review: {reason.message}")
    for name, f in c.fields.items():
        where = f" page {f.page}" + (f" at {f.offset}" if f.offset is not None else "") if f.page else ""
        print(f"  {name}: {f.value} (confidence {f.confidence:.2f}{where})")
    for page in view.pages:
        print(f"--- page {page.number} ---\n{page.text}")
    return ExitCode.OK


def _actor(args: argparse.Namespace) -> str:
    if args.actor:
        return str(args.actor)
    try:
        return f"clerk:{getpass.getuser()}"
    except Exception:  # no login name (a container without a passwd entry)
        return "clerk"


def _field_pairs(pairs: list[str]) -> dict[str, str | None]:
    """``NAME=VALUE`` options; an empty value removes the field."""
    fields: dict[str, str | None] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidChange(f"--field takes NAME=VALUE, not {pair!r}")
        fields[name.strip()] = value.strip() or None
    return fields


def correct(args: argparse.Namespace, settings: Settings) -> int:
    if args.kind is None and not args.field and args.correspondent is None and args.title is None:
        # It marked the card verified as it was: what `review accept` is for, asked for by name.
        raise UsageError("review set: nothing to set: give --kind, --field, --correspondent or --title "
                         "(`kartoteka review accept CARD` confirms a card as it is)")  # fmt: skip
    correction = review.Correction(
        kind=args.kind, fields=_field_pairs(args.field), correspondent=args.correspondent, title=args.title
    )
    return _print_verified(review.correct(Services(settings), args.card, correction, _actor(args)), args)


def accept(args: argparse.Namespace, settings: Settings) -> int:
    return _print_verified(review.accept(Services(settings), args.card, _actor(args)), args)


def _print_verified(done: review.Verified, args: argparse.Namespace) -> int:
    card, model = done.card, done.retrained
    if model is not None:
        print(f"kind model v{model.version} trained on {model.examples} verified cards", file=sys.stderr)
    if args.json:
        print_json({"card": review.review_summary(card), "fields": {k: v.to_json() for k, v in card.fields.items()},
                    "retrained": model.version if model else None})  # fmt: skip
    else:
        print(f"{card.registration_number} verified: {card.kind}, {card.title}")
    return ExitCode.OK


def kinds(args: argparse.Namespace, settings: Settings) -> int:
    kind_set = review.kinds(Services(settings))
    if args.json:
        rows = [{"id": k.id, "title": k.title, "journal": k.journal, "required": list(k.required)} for k in kind_set.kinds]
        print_json({"source": kind_set.source, "kinds": rows})
    else:
        for k in kind_set.kinds:
            print(f"{k.id:34} {k.title}  (required: {', '.join(k.required) or '-'})")
    return ExitCode.OK


def _org_json(o: OrganisationRow) -> dict[str, Any]:
    return {"id": o.id, "name": o.name, "key": o.key, "tax_id": o.tax_id, "status": o.status, "card": o.card_id}


def _print_orgs(rows: list[OrganisationRow], as_json: bool) -> None:
    if as_json:
        print_json({"organisations": [_org_json(o) for o in rows]})
    else:
        for o in rows:
            print(f"{o.status:9} {o.tax_id or '-':12} {o.name}  [{o.id}]")


def orgs(args: argparse.Namespace, settings: Settings) -> int:
    _print_orgs(review.organisations(Services(settings), proposed_only=args.proposed), args.json)
    return ExitCode.OK


def org_add(args: argparse.Namespace, settings: Settings) -> int:
    _print_orgs([review.add_organisation(Services(settings), args.name, args.tax_id)], args.json)
    return ExitCode.OK


def org_accept(args: argparse.Namespace, settings: Settings) -> int:
    row = review.accept_organisation(Services(settings), args.org, name=args.name, tax_id=args.tax_id)
    _print_orgs([row], args.json)
    return ExitCode.OK


def org_reject(args: argparse.Namespace, settings: Settings) -> int:
    review.reject_organisation(Services(settings), args.org)
    if args.json:
        print_json({"removed": args.org})
    return ExitCode.OK


def retrain(args: argparse.Namespace, settings: Settings) -> int:
    services = Services(settings)
    done = review.retrain(services)
    model = done.model
    data = {"version": model.version if model else None, "examples": model.examples if model else 0,
            "kinds": list(model.kinds) if model else [], "verified": services.catalog.count_verified(),
            "reason": done.reason}  # fmt: skip
    if args.json:
        print_json(data)
    elif model is None:
        print(f"no model trained: {done.reason} ({data['verified']} verified cards)")
    else:
        print(f"kind model v{model.version} trained on {model.examples} verified cards: {', '.join(model.kinds)}")
    return ExitCode.OK
