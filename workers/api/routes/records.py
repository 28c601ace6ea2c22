"""The ledger of input files and the batches: ``kartoteka ledger --json`` over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app import records
from workers.api.auth import Reader
from workers.api.deps import ServicesDep
from workers.api.models import Batch, BatchPage, LedgerPage, Outcome
from workers.api.params import ID_PATTERN, Cursor

router = APIRouter(tags=["ledger"])

Limit = Annotated[int, Query(ge=1, le=records.MAX_PAGE, description="entries per page")]
BatchId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


@router.get("/ledger", response_model=LedgerPage, response_model_exclude_unset=True, summary="Input files and their outcomes")
def get_ledger(
    services: ServicesDep,
    _: Reader,
    outcome: Outcome | None = None,
    batch: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    limit: Limit = 100,
    after: Cursor = None,
) -> dict[str, Any]:
    page = records.list_ledger(services, outcome=outcome, batch=batch, limit=limit, after=after)
    return {"files": [records.ledger_entry(r) for r in page.entries], "next_cursor": page.next_cursor}


@router.get("/batches", response_model=BatchPage, response_model_exclude_unset=True, summary="Batches, oldest first")
def get_batches(
    services: ServicesDep,
    _: Reader,
    open_only: Annotated[bool, Query(alias="open", description="only batches still open")] = False,
    limit: Limit = 100,
    after: Cursor = None,
) -> dict[str, Any]:
    page = records.list_batches(services, open_only=open_only, limit=limit, after=after)
    return {"batches": [records.batch_json(b) for b in page.batches], "next_cursor": page.next_cursor}


@router.get("/batches/{batch_id}", response_model=Batch, response_model_exclude_unset=True, summary="One batch")
def get_batch(batch_id: BatchId, services: ServicesDep, _: Reader) -> dict[str, Any]:
    return records.batch_json(records.get_batch(services, batch_id), cards=records.batch_cards(services, batch_id))
