"""``/health`` (the process answers) and ``/ready`` (the catalog, the index and the broker answer): no auth."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter

from app import records
from app.searching import SearchParams, search
from ingest.errors import PipelineError
from workers.api.deps import ServicesDep
from workers.api.models import Health, Ready
from workers.api.problems import ApiProblem
from workers.broker import check_broker

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/health", response_model=Health, summary="The process is up")
def health() -> dict[str, Any]:
    return {"status": "ok"}


def _check(name: str, probe: Any) -> str:
    try:
        probe()
    except PipelineError as e:
        log.warning("not ready: %s: %s", name, e)
        return f"failed: {e}"
    except Exception as e:  # a probe reports whatever stops the part answering
        log.warning("not ready: %s", name, exc_info=e)
        return f"failed: {type(e).__name__}"
    return "ok"


@router.get("/ready", response_model=Ready, summary="The catalog, the search index and the broker (if any) answer")
def ready(services: ServicesDep) -> dict[str, Any]:
    checks = {
        "catalog": _check("catalog", lambda: records.list_batches(services, limit=1)),
        "index": _check("index", lambda: search(services, SearchParams(per_page=1))),
    }
    if services.settings.broker_url:
        checks["broker"] = _check("broker", lambda: check_broker(services.settings.broker_url))
    failed = sorted(name for name, state in checks.items() if state != "ok")
    if failed:
        raise ApiProblem(503, "not-ready", f"not ready: {', '.join(failed)} failed", headers={"Retry-After": "5"})
    return {"status": "ready", "checks": checks}
