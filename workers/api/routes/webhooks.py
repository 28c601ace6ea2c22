"""Webhooks (administrators): register a receiver (its secret shown once), list, disable, and
read a hook's delivery log a page at a time.

What a receiver gets, how it is signed and how often it is retried: ``app.webhooks``. The
sender runs in ``kartoteka run`` / ``kartoteka serve`` (``workers.api.sender``), not in the
request: registering a hook only records it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app import webhooks
from archive.model import DeliveryRow, WebhookRow
from workers.api.auth import Administrator
from workers.api.deps import ServicesDep
from workers.api.models import DeliveryPage, Webhook, WebhookCreated, WebhookRequest
from workers.api.params import ID_PATTERN

router = APIRouter(tags=["webhooks"])

HookId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="the webhook's id")]
MAX_PAGE = 1000
#: Delivery ids are 64-bit integers; a larger ``after`` is refused (422) before it reaches SQL.
MAX_ID = 2**63 - 1


def _time(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def webhook_json(hook: WebhookRow) -> dict[str, Any]:
    """A hook without its secret."""
    return {
        "id": hook.id, "url": hook.url, "topics": list(hook.topics), "created_at": _time(hook.created_at),
        "disabled_at": _time(hook.disabled_at), "cursor": str(hook.cursor),
    }  # fmt: skip


def delivery_json(delivery: DeliveryRow) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event": str(delivery.event_seq),
        "topic": delivery.event.topic if delivery.event is not None else None,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": _time(delivery.next_attempt_at),
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "created_at": _time(delivery.created_at),
        "delivered_at": _time(delivery.delivered_at),
    }


@router.post(
    "/webhooks", status_code=201, response_model=WebhookCreated, summary="Register a receiver; its secret is shown this once"
)  # fmt: skip
def post_webhook(body: WebhookRequest, services: ServicesDep, _: Administrator) -> dict[str, Any]:
    hook = webhooks.register_webhook(services, body.url, body.topics, secret=body.secret, from_start=body.from_start)
    return {"webhook": webhook_json(hook), "secret": hook.secret}


@router.get("/webhooks", response_model=list[Webhook], summary="Webhooks, disabled ones too, oldest first")
def get_webhooks(services: ServicesDep, _: Administrator) -> list[dict[str, Any]]:
    return [webhook_json(h) for h in webhooks.list_webhooks(services)]


@router.delete("/webhooks/{hook_id}", response_model=Webhook, summary="Disable a webhook (its log stays)")
def delete_webhook(hook_id: HookId, services: ServicesDep, _: Administrator) -> dict[str, Any]:
    return webhook_json(webhooks.disable_webhook(services, hook_id))  # WebhookNotFound: 404


@router.get("/webhooks/{hook_id}/deliveries", response_model=DeliveryPage, summary="A webhook's delivery log")
def get_deliveries(
    hook_id: HookId,
    services: ServicesDep,
    _: Administrator,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="the next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Deliveries in the order they were planned, each with its attempts so far."""
    page = webhooks.delivery_log(services, hook_id, after=after, limit=limit)
    return {"deliveries": [delivery_json(d) for d in page.deliveries], "next_cursor": page.next_cursor}
