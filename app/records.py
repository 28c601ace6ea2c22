"""Reading the archive: a card by id or number, the ledger of input files, the batches.

Results are the archive's typed rows; ``card_json`` and ``ledger_entry`` are the one JSON shape
of each, printed by ``kartoteka card --json`` / ``ledger --json`` and served by the HTTP API. In
every JSON output ``card`` is a card's id and ``registration_number`` its number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from app.services import Services
from archive.errors import BatchNotFound, CardNotFound, InvalidChange
from archive.model import OUTCOMES, BatchSummary, CardRow, CardView, InputFileRow, Outcome

__all__ = [
    "BatchPage",
    "LedgerPage",
    "batch_json",
    "card_json",
    "get_batch",
    "get_card",
    "ledger_entry",
    "list_batches",
    "list_ledger",
    "review_reasons_json",
]

MAX_PAGE = 1000


@dataclass(frozen=True)
class LedgerPage:
    entries: list[InputFileRow]
    #: pass as ``after`` for the next page; None on the last page
    next_cursor: str | None


@dataclass(frozen=True)
class BatchPage:
    batches: list[BatchSummary]
    next_cursor: str | None


def get_card(services: Services, id_or_number: str) -> CardView:
    """A card with its pages, attachments and history; CardNotFound when there is none."""
    view = services.catalog.get_card(id_or_number)
    if view is None:
        raise CardNotFound(f"no card has id or number {id_or_number!r}")
    return view


def list_ledger(
    services: Services,
    *,
    outcome: Outcome | None = None,
    batch: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> LedgerPage:
    """Input files oldest first, optionally one outcome or one batch, a page at a time."""
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidChange(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    _check_limit(limit)
    rows = services.catalog.ledger(outcome=outcome, batch_id=batch, limit=limit, after=after)
    full = limit is not None and len(rows) == limit
    return LedgerPage(rows, rows[-1].cursor if full and rows else None)


def list_batches(
    services: Services,
    *,
    hotfolder: str | None = None,
    open_only: bool = False,
    limit: int | None = None,
    after: str | None = None,
) -> BatchPage:
    """Batches oldest first with how many of their files have each outcome."""
    _check_limit(limit)
    found = services.catalog.list_batches(hotfolder=hotfolder, open_only=open_only, limit=limit, after=after)
    full = limit is not None and len(found) == limit
    return BatchPage(found, found[-1].cursor if full and found else None)


def get_batch(services: Services, batch_id: str) -> BatchSummary:
    found = services.catalog.get_batch(batch_id)
    if found is None:
        raise BatchNotFound(f"no batch has id {batch_id!r}")
    return found


def _check_limit(limit: int | None) -> None:
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise InvalidChange(f"a page holds 1 to {MAX_PAGE} entries, not {limit}")


# -- the JSON shapes ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def review_reasons_json(card: CardRow) -> list[dict[str, str | None]]:
    return [r.as_json() for r in card.review_reasons]


def card_json(view: CardView) -> dict[str, Any]:
    """The card as ``kartoteka card --json`` prints it: ``card`` and ``id`` are both its id."""
    data = asdict(view.card)
    data["review_reasons"] = review_reasons_json(view.card)
    out: dict[str, Any] = {"card": view.card.id, **_plain(data)}
    out["pages"] = [_plain(asdict(p)) for p in view.pages]
    out["attachments"] = [_plain(asdict(a)) for a in view.attachments]
    out["history"] = [_plain(asdict(h)) for h in view.history]
    return out


def ledger_entry(row: InputFileRow) -> dict[str, object]:
    """One ledger line as the command-line contract prints it; ``input`` is the row's id (what
    ``POST /api/v1/inputs/{input}/retry`` takes)."""
    return {
        "input": row.id,
        "path": row.path,
        "sha256": row.sha256,
        "batch": row.batch_id,
        "outcome": row.outcome,
        "card": row.card_id,
        "registration_number": row.card_number,
        "reason": row.reason,
        "stage": row.stage,
    }


def batch_cards(services: Services, batch_id: str) -> list[dict[str, str]]:
    """The cards registered from a batch (every document of a file split by separator sheets)."""
    return [{"card": i, "registration_number": n} for i, n in services.catalog.batch_cards(batch_id)]


def batch_json(batch: BatchSummary, cards: list[dict[str, str]] | None = None) -> dict[str, object]:
    """A batch as JSON; with ``cards``, the cards registered from it too (one batch's page)."""
    found: dict[str, object] = {
        "batch": batch.id,
        "hotfolder": batch.hotfolder,
        "name": batch.name,
        "created_at": batch.created_at.isoformat(),
        "closed_at": batch.closed_at.isoformat() if batch.closed_at else None,
        "counts": dict(batch.counts),
        "total": batch.total,
    }
    if cards is not None:
        found["cards"] = cards
    return found
