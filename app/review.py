"""The review queue, clerks' corrections, the kind model's retraining, the organisations directory.

A correction goes through the catalog's ``update_card`` (audit trail and outbox, so the search
index follows), clears the card's review reasons, marks it verified, and so becomes training
data; a correspondent a clerk confirms joins the directory. When the verified cards since the
last training reach ``classify.retrain_after``, the model is retrained before the call returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.services import Services
from archive.errors import InvalidChange, StaleVersion
from archive.model import CardRow, ExtractedField, OrganisationRow
from classify.organisations import org_key
from ingest.errors import PermanentError

if TYPE_CHECKING:
    from classify.kinds import KindSet
    from classify.classifier import Training
    from classify.learned import KindModel

__all__ = [
    "Correction",
    "OrganisationNotFound",
    "Verified",
    "accept",
    "add_organisation",
    "accept_organisation",
    "correct",
    "kinds",
    "organisations",
    "reject_organisation",
    "retrain",
    "review_queue",
    "review_summary",
]

#: ``fields`` names that also set a column of the card.
COLUMNS = {"date": "doc_date", "number": "doc_number", "correspondent": "correspondent", "title": "title"}


@dataclass(frozen=True)
class Correction:
    """What a clerk changes: any of kind, fields (None removes one), correspondent, title."""

    kind: str | None = None
    fields: Mapping[str, str | None] = field(default_factory=dict)
    correspondent: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Verified:
    card: CardRow
    #: the version of the kind model this correction made due, if one was trained
    retrained: KindModel | None


def review_queue(services: Services, limit: int | None = None) -> list[CardRow]:
    """Cards needing review, oldest registration first, each with its reasons."""
    if limit is not None and limit < 1:
        raise InvalidChange(f"a limit is 1 or more, not {limit}")
    return services.catalog.review_queue(limit=limit)


def review_summary(card: CardRow) -> dict[str, Any]:
    """A card in the review queue as ``kartoteka review list --json`` and ``GET /api/v1/review``
    show it: what a clerk needs to decide, without pages or history."""
    kind = card.fields.get("kind")
    return {
        "card": card.id,
        "registration_number": card.registration_number,
        "registered_at": card.registered_at.isoformat(),
        "kind": card.kind,
        "kind_confidence": kind.confidence if kind else None,
        "title": card.title,
        "correspondent": card.correspondent,
        "status": card.status,
        "review_reasons": [r.as_json() for r in card.review_reasons],
    }


def kinds(services: Services) -> KindSet:
    return services.classifier.kinds


def _check_kind(services: Services, kind: str) -> None:
    known = kinds(services)
    if known.get(kind) is None:
        raise InvalidChange(f"{kind!r} is not a configured kind; one of: {', '.join(known.ids)}")


#: Times a correction without a version is applied again over a card that changed meanwhile.
UNPINNED_TRIES = 3


def correct(
    services: Services, card: str, correction: Correction, actor: str, *, expected_version: int | None = None
) -> Verified:
    """Apply a clerk's correction and mark the card verified; with ``expected_version``, only if
    nobody changed the card since that version (StaleVersion otherwise). Without one (the command
    line), over the card as it is when written: what the correction does not name keeps the
    latest value (a kind another clerk set meanwhile was written back to the one read before)."""
    return _pinned(lambda version: _correct(services, card, correction, actor, version), expected_version)


def _pinned(apply: Callable[[int | None], Verified], expected_version: int | None) -> Verified:
    """``apply`` at ``expected_version``; without one, at the version it reads, read again when
    another change came between its read and its write."""
    if expected_version is not None:
        return apply(expected_version)
    for attempt in range(1, UNPINNED_TRIES + 1):
        try:
            return apply(None)
        except StaleVersion:
            if attempt == UNPINNED_TRIES:
                raise
    raise AssertionError("unreachable")


def _correct(services: Services, card: str, correction: Correction, actor: str, expected_version: int | None) -> Verified:
    current = _card(services, card)
    expected_version = current.version if expected_version is None else expected_version
    columns: dict[str, Any] = {}
    fields: dict[str, ExtractedField | None] = {}
    for name, value in correction.fields.items():
        name, value = name.strip(), (value or "").strip()
        if not name:
            raise InvalidChange("a field needs a name")
        if name == "kind":  # it was overwritten by the kind below: a 200 that changed nothing
            raise InvalidChange('the kind is changed with "kind" (kartoteka review set --kind), not as a field')
        if name in COLUMNS:
            columns[COLUMNS[name]] = value or None
        fields[name] = ExtractedField(value, 1.0) if value else None
    kind = correction.kind or current.kind
    _check_kind(services, kind)
    columns["kind"] = kind
    fields["kind"] = ExtractedField(kind, 1.0)
    if correction.correspondent is not None:
        columns["correspondent"] = correction.correspondent or None
        fields["correspondent"] = ExtractedField(correction.correspondent, 1.0) if correction.correspondent else None
    if correction.title is not None:
        columns["title"] = correction.title
    return _verify(services, current, columns, fields, actor, expected_version)


def accept(services: Services, card: str, actor: str, *, expected_version: int | None = None) -> Verified:
    """Confirm a card as it is and mark it verified (the version read, or ``expected_version``)."""

    def apply(version: int | None) -> Verified:
        current = _card(services, card)
        _check_kind(services, current.kind)
        pinned = current.version if version is None else version
        return _verify(services, current, {}, {"kind": ExtractedField(current.kind, 1.0)}, actor, pinned)

    return _pinned(apply, expected_version)


def _card(services: Services, card: str) -> CardRow:
    from app.records import get_card

    return get_card(services, card).card


def _verify(
    services: Services,
    card: CardRow,
    columns: dict[str, Any],
    fields: dict[str, ExtractedField | None],
    actor: str,
    expected_version: int | None = None,
) -> Verified:
    """Write the correction with status verified, learn the correspondent, retrain if due."""
    catalog = services.catalog
    changes = {**columns, "fields": fields, "status": "verified", "review_reasons": ()}
    updated = catalog.update_card(card.id, changes, actor, expected_version=expected_version)
    if updated.correspondent and org_key(updated.correspondent):
        catalog.save_organisation(updated.correspondent, org_key(updated.correspondent), _tax_id(updated))
    return Verified(updated, services.classifier.retrain(catalog))


def _tax_id(card: CardRow) -> str | None:
    for name in ("bin", "inn", "iin"):
        f = card.fields.get(name)
        if f is not None and f.value:
            return str(f.value)
    return None


def retrain(services: Services, *, force: bool = True) -> Training:
    """Train the kind model from verified cards now (``force=False``: only if due); the model, or
    why none was trained."""
    return services.classifier.train_now(services.catalog, force=force)


# -- the organisations directory ------------------------------------------------------------


class OrganisationNotFound(PermanentError):
    """No directory entry has this id or key."""

    code = "organisation-not-found"


def organisations(services: Services, *, proposed_only: bool = False) -> list[OrganisationRow]:
    return services.catalog.organisations(status="proposed" if proposed_only else None)


def add_organisation(services: Services, name: str, tax_id: str | None = None) -> OrganisationRow:
    key = org_key(name)
    if not key:
        raise InvalidChange(f"{name!r} is not an organisation's name")
    return services.catalog.save_organisation(name, key, tax_id)


def accept_organisation(
    services: Services, org: str, *, name: str | None = None, tax_id: str | None = None
) -> OrganisationRow:
    """Accept a proposed entry (optionally renamed); OrganisationNotFound when there is none."""
    catalog = services.catalog
    found = catalog.get_organisation(org)
    if found is None:
        raise OrganisationNotFound(f"no organisation {org!r} in the directory")
    return catalog.save_organisation(name or found.name, found.key, tax_id or found.tax_id)


def reject_organisation(services: Services, org: str) -> None:
    if not services.catalog.delete_organisation(org):
        raise OrganisationNotFound(f"no organisation {org!r} in the directory")
