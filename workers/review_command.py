"""``kartoteka review``: the review queue, corrections, and the organisations directory.

    kartoteka review list [--limit N]                  cards needing review, oldest first, with reasons
    kartoteka review show CARD                         one card with its reasons
    kartoteka review set CARD [--kind K] [--field NAME=VALUE]... [--correspondent NAME] [--title T]
    kartoteka review accept CARD                       confirm the card as it is
    kartoteka review kinds                             the configured kinds
    kartoteka review orgs [--proposed]                 the directory; org-add / org-accept / org-reject
    kartoteka review retrain [--force]                 train the kind model now

A correction goes through ``Catalog.update_card`` (audit trail and outbox, so the search index
follows), marks the card verified, and so becomes training data. When it brings the verified
cards since the last training to ``classify.retrain_after``, the model is retrained right here,
before the command returns; running services pick the new file up within ``reload_seconds``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Mapping
from typing import Any

from archive.errors import CardNotFound, InvalidChange
from archive.model import CardRow, ExtractedField, OrganisationRow
from classify.organisations import org_key
from workers import pipeline
from workers.catalog_commands import card_json
from workers.exitcodes import ExitCode
from workers.services import Services, build_services
from workers.settings import Settings

#: ``--field`` names that also set a column of the card.
_COLUMNS = {"date": "doc_date", "number": "doc_number", "correspondent": "correspondent", "title": "title"}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    review = sub.add_parser("review", help="the review queue: list, show, correct and accept cards")
    commands = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")

    def action(name: str, run: Any, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(run=run)
        return p

    p = action("list", list_queue, "cards needing review, oldest first")
    p.add_argument("--limit", type=int)
    p = action("show", show, "one card with the reasons it needs review")
    p.add_argument("card", metavar="CARD", help="card id or registration number")
    p = action("set", correct, "correct a card and mark it verified")
    p.add_argument("card", metavar="CARD")
    p.add_argument("--kind", help="the document kind (see `kartoteka review kinds`)")
    p.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                   help="a field value, e.g. date=2024-03-12, number=45/12-п, amount=1500.00, bin=…; repeatable")  # fmt: skip
    p.add_argument("--correspondent", help="the correspondent's name; it is added to the directory")
    p.add_argument("--title")
    p.add_argument("--actor", help="who corrects (default: clerk:<login>)")
    p = action("accept", accept, "confirm a card as it is and mark it verified")
    p.add_argument("card", metavar="CARD")
    p.add_argument("--actor")
    action("kinds", kinds, "the configured document kinds")
    p = action("orgs", orgs, "the organisations directory")
    p.add_argument("--proposed", action="store_true", help="only proposals awaiting a decision")
    p = action("org-add", org_add, "add an organisation to the directory")
    p.add_argument("name")
    p.add_argument("--tax-id", help="BIN/IIN or INN")
    p = action("org-accept", org_accept, "accept a proposed organisation")
    p.add_argument("org", metavar="ID_OR_KEY")
    p.add_argument("--name", help="the name to keep (default: as proposed)")
    p.add_argument("--tax-id")
    p = action("org-reject", org_reject, "remove a proposed (or any) directory entry")
    p.add_argument("org", metavar="ID_OR_KEY")
    p = action("retrain", retrain, "train the kind model from verified cards now")
    p.add_argument("--force", action="store_true", help="even if fewer than retrain_after cards are new")


def _print(data: Mapping[str, Any]) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=1, default=str)
    sys.stdout.write("\n")


def reasons_of(card: CardRow) -> list[str]:
    found = card.fields.get(pipeline.REVIEW_REASONS)
    return [r for r in str(found.value).split("; ") if r] if found and found.value else []


def _summary(card: CardRow) -> dict[str, Any]:
    kind = card.fields.get("kind")
    return {
        "id": card.id,
        "registration_number": card.registration_number,
        "registered_at": card.registered_at.isoformat(),
        "kind": card.kind,
        "kind_confidence": kind.confidence if kind else None,
        "title": card.title,
        "correspondent": card.correspondent,
        "status": card.status,
        "reasons": reasons_of(card),
    }


def list_queue(args: argparse.Namespace, settings: Settings) -> int:
    cards = build_services(settings).catalog.review_queue(limit=args.limit)
    if args.json:
        _print({"total": len(cards), "cards": [_summary(c) for c in cards]})
        return ExitCode.OK
    for c in cards:
        print(f"{c.registration_number:16} {c.kind:24} {c.title[:60]}")
        for reason in reasons_of(c):
            print(f"{'':17}- {reason}")
    print(f"{len(cards)} cards need review", file=sys.stderr)
    return ExitCode.OK


def show(args: argparse.Namespace, settings: Settings) -> int:
    view = build_services(settings).catalog.get_card(args.card)
    if view is None:
        print(f"kartoteka: no card {args.card!r}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    if args.json:
        _print({**card_json(view), "reasons": reasons_of(view.card)})
        return ExitCode.OK
    c = view.card
    print(f"{c.registration_number}  {c.kind}  {c.status}  {c.title}")
    for reason in reasons_of(c):
        print(f"  needs review: {reason}")
    for name, f in c.fields.items():
        if name != pipeline.REVIEW_REASONS:
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


def _card(services: Services, card_id: str) -> CardRow:
    view = services.catalog.get_card(card_id)
    if view is None:
        raise CardNotFound(f"no card has id or number {card_id}")
    return view.card


def _check_kind(services: Services, kind: str) -> None:
    kinds = pipeline.classifier(services).kinds
    if kinds.get(kind) is None:
        raise InvalidChange(f"{kind!r} is not a configured kind; one of: {', '.join(kinds.ids)}")


def _field_changes(pairs: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``NAME=VALUE`` options as (column changes, field changes); a clerk's value is certain."""
    columns: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidChange(f"--field takes NAME=VALUE, not {pair!r}")
        value = value.strip()
        if name in _COLUMNS:
            columns[_COLUMNS[name]] = value or None
        fields[name] = ExtractedField(value, 1.0) if value else None
    return columns, fields


def correct(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    card = _card(services, args.card)
    columns, fields = _field_changes(args.field)
    kind = args.kind or card.kind
    _check_kind(services, kind)
    columns["kind"] = kind
    fields["kind"] = ExtractedField(kind, 1.0)
    if args.correspondent is not None:
        columns["correspondent"] = args.correspondent or None
        fields["correspondent"] = ExtractedField(args.correspondent, 1.0) if args.correspondent else None
    if args.title is not None:
        columns["title"] = args.title
    return _verify(services, card, columns, fields, args)


def accept(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    card = _card(services, args.card)
    _check_kind(services, card.kind)
    return _verify(services, card, {}, {"kind": ExtractedField(card.kind, 1.0)}, args)


def _verify(
    services: Services, card: CardRow, columns: dict[str, Any], fields: dict[str, Any], args: argparse.Namespace
) -> int:
    """Write the correction with status verified, learn the correspondent, retrain if due."""
    catalog = services.catalog
    fields[pipeline.REVIEW_REASONS] = None
    updated = catalog.update_card(card.id, {**columns, "fields": fields, "status": "verified"}, _actor(args))
    if updated.correspondent and org_key(updated.correspondent):
        catalog.save_organisation(updated.correspondent, org_key(updated.correspondent), _tax_id(updated))
    model = pipeline.classifier(services).retrain(catalog)
    if model is not None:
        print(f"kind model v{model.version} trained on {model.examples} verified cards", file=sys.stderr)
    if args.json:
        _print({"card": _summary(updated), "fields": {k: v.to_json() for k, v in updated.fields.items()},
                "retrained": model.version if model else None})  # fmt: skip
    else:
        print(f"{updated.registration_number} verified: {updated.kind}, {updated.title}")
    return ExitCode.OK


def _tax_id(card: CardRow) -> str | None:
    for name in ("bin", "inn", "iin"):
        f = card.fields.get(name)
        if f is not None and f.value:
            return str(f.value)
    return None


def kinds(args: argparse.Namespace, settings: Settings) -> int:
    kind_set = pipeline.classifier(build_services(settings)).kinds
    if args.json:
        rows = [{"id": k.id, "title": k.title, "journal": k.journal, "required": list(k.required)} for k in kind_set.kinds]
        _print({"source": kind_set.source, "kinds": rows})
    else:
        for k in kind_set.kinds:
            print(f"{k.id:34} {k.title}  (required: {', '.join(k.required) or '-'})")
    return ExitCode.OK


def _org_json(o: OrganisationRow) -> dict[str, Any]:
    return {"id": o.id, "name": o.name, "key": o.key, "tax_id": o.tax_id, "status": o.status, "card": o.card_id}


def _print_orgs(rows: list[OrganisationRow], as_json: bool) -> None:
    if as_json:
        _print({"organisations": [_org_json(o) for o in rows]})
    else:
        for o in rows:
            print(f"{o.status:9} {o.tax_id or '-':12} {o.name}  [{o.id}]")


def orgs(args: argparse.Namespace, settings: Settings) -> int:
    rows = build_services(settings).catalog.organisations(status="proposed" if args.proposed else None)
    _print_orgs(rows, args.json)
    return ExitCode.OK


def org_add(args: argparse.Namespace, settings: Settings) -> int:
    row = build_services(settings).catalog.save_organisation(args.name, org_key(args.name), args.tax_id)
    _print_orgs([row], args.json)
    return ExitCode.OK


def org_accept(args: argparse.Namespace, settings: Settings) -> int:
    catalog = build_services(settings).catalog
    found = catalog.get_organisation(args.org)
    if found is None:
        print(f"kartoteka: no organisation {args.org!r} in the directory", file=sys.stderr)
        return ExitCode.BAD_INPUT
    row = catalog.save_organisation(args.name or found.name, found.key, args.tax_id or found.tax_id)
    _print_orgs([row], args.json)
    return ExitCode.OK


def org_reject(args: argparse.Namespace, settings: Settings) -> int:
    if not build_services(settings).catalog.delete_organisation(args.org):
        print(f"kartoteka: no organisation {args.org!r} in the directory", file=sys.stderr)
        return ExitCode.BAD_INPUT
    if args.json:
        _print({"removed": args.org})
    return ExitCode.OK


def retrain(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    model = pipeline.classifier(services).retrain(services.catalog, force=args.force)
    data = {"version": model.version if model else None, "examples": model.examples if model else 0,
            "kinds": list(model.kinds) if model else [], "verified": services.catalog.count_verified()}  # fmt: skip
    if args.json:
        _print(data)
    elif model is None:
        print(f"no model trained ({data['verified']} verified cards; see `kartoteka review retrain --force`)")
    else:
        print(f"kind model v{model.version} trained on {model.examples} verified cards: {', '.join(model.kinds)}")
    return ExitCode.OK
