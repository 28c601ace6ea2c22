"""``kartoteka verify``: re-hash every blob, check the catalog and compare the search index with it.

Changes the outbox has not fed to the index yet are reported as pending, not as problems: the
index is behind, not wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.services import Services
from ingest.errors import TransientError

__all__ = ["VerifyReport", "verify"]


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    index: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"checked": self.checked, "index": self.index, "problems": self.problems}


def verify(
    services: Services, *, on_total: Callable[[int], None] = lambda n: None, progress: Callable[[int], None] = lambda n: None
) -> VerifyReport:
    """Check every card's blobs, the ledger and the search index; ``on_total(cards)`` first, then
    ``progress(1)`` after each card's blobs are re-hashed (the long part)."""
    report = VerifyReport()
    on_total(services.catalog.count_cards())
    card_ids = _verify_blobs(services, report, progress)
    for row in services.catalog.ledger(outcome="archived"):
        # An input whose card was deleted keeps its outcome, with the deletion as its reason.
        if row.card_id is None and row.reason is None:
            report.problems.append(f"input {row.path}: archived without a card")
    report.index = _verify_index(services, card_ids, report.problems)
    return report


def _verify_blobs(services: Services, report: VerifyReport, progress: Callable[[int], None]) -> set[str]:
    """Every card's attachments exist and match their checksum; the ids of every card."""
    blobs = services.blobs
    card_ids: set[str] = set()
    for view in services.catalog.iter_cards():
        number = view.card.registration_number
        card_ids.add(view.card.id)
        for att in view.attachments:
            report.checked += 1
            if not blobs.exists(att.sha256):
                report.problems.append(f"card {number}: {att.role} {att.name} is missing ({att.sha256})")
            elif not blobs.verify(att.sha256):
                report.problems.append(f"card {number}: {att.role} {att.name} is corrupt ({att.sha256})")
        if not any(a.role == "original" for a in view.attachments):
            report.problems.append(f"card {number}: no original attached")
        progress(1)
    return card_ids


def _verify_index(services: Services, card_ids: set[str], problems: list[str]) -> dict[str, Any]:
    pending = {row.card_id for row in services.catalog.outbox_pending(limit=100_000)}
    try:
        indexed = _indexed(services)
    except TransientError as e:
        problems.append(f"search index: cannot be checked ({e})")
        return {"documents": None, "pending": len(pending)}
    missing = card_ids - indexed - pending
    stale = indexed - card_ids - pending
    if missing or stale:
        # The service may be registering or deleting cards while this runs (the catalog was
        # read minutes before the index): a difference counts only if a second look, with
        # everything read again, still sees it.
        again = services.catalog.card_ids()
        pending = {row.card_id for row in services.catalog.outbox_pending(limit=100_000)}
        indexed = _indexed(services)
        missing &= again - indexed - pending
        stale &= indexed - again - pending
    first_missing, first_stale = sorted(missing)[:1], sorted(stale)[:1]
    if missing:
        problems.append(f"search index: {len(missing)} cards missing (e.g. {first_missing[0]}); run `kartoteka reindex`")
    if stale:
        problems.append(f"search index: {len(stale)} documents of no card (e.g. {first_stale[0]}); run `kartoteka reindex`")
    return {"documents": len(indexed), "pending": len(pending), "missing": len(missing), "stale": len(stale)}


def _indexed(services: Services) -> set[str]:
    """The card ids the search index holds; TransientError when it cannot be read."""
    index = services.open_index()
    try:
        return set(index.card_ids())
    finally:
        index.close()
