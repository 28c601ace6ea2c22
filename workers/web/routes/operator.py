"""The operator's dashboard: hot folders and batches in progress (a live fragment the page fetches
every 2 s), throughput, recently quarantined files with a retry button, a batch's ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app import records, uploads
from archive.errors import InputNotFound, InvalidChange
from workers.api.params import ID_PATTERN, Cursor
from workers.web import UI_PREFIX, dashboard
from workers.web.routes import web_router
from workers.web.session import Operator, OperatorForm
from workers.web.state import enqueue_of, services_of
from workers.web.templating import render

router = web_router()

BatchId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
InputId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
LEDGER_PAGE = 100
#: How often the page fetches its live parts, in milliseconds.
LIVE_EVERY_MS = 2000


def _dashboard(request: Request, status: int = 200, **notice: Any) -> Response:
    services = services_of(request)
    return render(
        request, "operator.html", status, live=dashboard.live(services), quarantined=dashboard.quarantined(services),
        notice=notice, live_every=LIVE_EVERY_MS, section="operator",
    )  # fmt: skip


@router.get("/operator")
def operator_page(request: Request, viewer: Operator, retried: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    return _dashboard(request, retried=retried)


@router.get("/operator/live")
def operator_live(request: Request, viewer: Operator) -> Response:
    return render(request, "_live.html", live=dashboard.live(services_of(request)))


@router.post("/operator/inputs/{input_id}/retry")
def retry(request: Request, input_id: InputId, posted: OperatorForm) -> Response:
    try:
        row = uploads.retry_input(services_of(request), input_id, enqueue_of(request))
    except InputNotFound as e:
        return _dashboard(request, 404, refused=e.message)
    except InvalidChange as e:
        return _dashboard(request, 422, refused=e.message)
    return RedirectResponse(f"{UI_PREFIX}/operator?retried={row.id}#quarantine", status_code=303)


def _batch(request: Request, batch_id: str) -> dashboard.BatchView:
    return dashboard.BatchView(records.get_batch(services_of(request), batch_id))


@router.get("/operator/batches/{batch_id}")
def batch_page(request: Request, viewer: Operator, batch_id: BatchId, after: Cursor = None) -> Response:
    batch = _batch(request, batch_id)
    ledger = records.list_ledger(services_of(request), batch=batch_id, limit=LEDGER_PAGE, after=after)
    return render(request, "batch.html", batch=batch, ledger=ledger, after=after, live_every=LIVE_EVERY_MS,
                  section="operator")  # fmt: skip


@router.get("/operator/batches/{batch_id}/live")
def batch_live(request: Request, viewer: Operator, batch_id: BatchId) -> Response:
    return render(request, "_batch_progress.html", batch=_batch(request, batch_id))
