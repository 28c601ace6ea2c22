"""Webhooks: receivers registered by URL get the change feed's events, signed, at least once.

Delivery is planned from the change feed (archive/catalog/webhooks.py), so ingestion never waits
for a receiver, nor even knows there is one: a ``WebhookSender`` thread in the serving process
turns new events into deliveries and posts the due ones. A receiver that is down is tried again
with exponential backoff (10 s doubling to an hour) for a day, then the delivery is marked
failed; every attempt is in the hook's delivery log.

Each POST carries the event as JSON (the change feed's shape) and these headers:

- ``Kartoteka-Event``: the topic; ``Idempotency-Key``: ``<hook id>:<event cursor>``, the same on
  every attempt, so a receiver that saw it already can ignore the repeat;
- ``Kartoteka-Signature``: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the hook's
  secret>`` (the timestamp inside the MAC lets a receiver refuse old replays), as Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from app.changes import ChangeEvent
from app.services import Services
from archive.errors import InvalidChange, WebhookNotFound
from archive.model import DeliveryRow, WebhookRow

__all__ = [
    "MAX_AGE",
    "DeliveryPage",
    "Post",
    "WebhookSender",
    "backoff",
    "delivery_log",
    "disable_webhook",
    "get_webhook",
    "list_webhooks",
    "register_webhook",
    "sign",
    "verify_signature",
]

log = logging.getLogger(__name__)

#: How long a delivery is retried before it is marked failed.
MAX_AGE = timedelta(days=1)
FIRST_BACKOFF = 10.0
MAX_BACKOFF = 3600.0
TIMEOUT = 10.0
#: A failed attempt that took longer than this (a timeout, a crawl) ends the receiver's round.
SLOW_FAILURE = 2.0
#: Receivers posted to at once in a round.
MAX_PARALLEL_HOOKS = 8

#: Sends one request: (url, body, headers) -> HTTP status; raises OSError-like errors when the
#: receiver cannot be reached. The default uses httpx; tests may pass a plain function.
Post = Callable[[str, bytes, dict[str, str]], int]


def register_webhook(
    services: Services, url: str, topics: Sequence[str], *, secret: str | None = None, from_start: bool = False
) -> WebhookRow:
    """Register a receiver; its secret is generated unless given (it is shown with the hook)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidChange(f"a webhook URL is http(s)://host/path, not {url!r}")
    if not topics:
        raise InvalidChange("a webhook needs at least one topic")
    key = secret or secrets.token_urlsafe(32)
    return services.catalog.add_webhook(url, key, topics, from_seq=0 if from_start else None)


def list_webhooks(services: Services) -> list[WebhookRow]:
    """Every webhook, disabled ones too, oldest first."""
    return services.catalog.list_webhooks()


def get_webhook(services: Services, hook_id: str) -> WebhookRow:
    found = services.catalog.get_webhook(hook_id)
    if found is None:
        raise WebhookNotFound(f"no webhook has id {hook_id!r}")
    return found


def disable_webhook(services: Services, hook_id: str) -> WebhookRow:
    """Stop delivering to a hook; its delivery log stays."""
    return services.catalog.disable_webhook(hook_id)


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[DeliveryRow]
    #: pass as ``after`` for the next page; None on the last page
    next_cursor: str | None


def delivery_log(services: Services, hook_id: str, *, after: int | None = None, limit: int = 100) -> DeliveryPage:
    """A hook's deliveries in the order they were planned, each with its attempts so far."""
    get_webhook(services, hook_id)
    rows = services.catalog.deliveries(hook_id, limit=limit, after=after)
    more = len(rows) == limit and bool(rows)
    return DeliveryPage(rows, str(rows[-1].id) if more else None)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str, *, tolerance: float = 300.0, now: float | None = None) -> bool:
    """What a receiver does: check the MAC and that the timestamp is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters (a forged header raised
    # instead of being refused).
    expected = sign(secret, body, timestamp).encode()
    return hmac.compare_digest(expected, f"t={timestamp},v1={fields.get('v1', '')}".encode())


def backoff(attempts: int, first: float = FIRST_BACKOFF) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    return min(first * 2.0 ** max(attempts - 1, 0), MAX_BACKOFF)


def _httpx_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """The receiver's status. Only the status line and headers are read: httpx's timeout bounds
    each read, so a body sent a byte every few seconds kept the sender for minutes."""
    import httpx

    with httpx.stream("POST", url, content=body, headers=headers, timeout=TIMEOUT) as response:
        return response.status_code


@dataclass
class WebhookSender:
    """Plans and posts deliveries; ``run`` is the thread body, ``step`` one round (for tests)."""

    services: Services
    post: Post = _httpx_post
    idle_seconds: float = 1.0
    first_backoff: float = FIRST_BACKOFF
    max_age: timedelta = MAX_AGE

    def step(self) -> int:
        """Plan new deliveries for every active hook and post the due ones; how many were due.

        Each receiver's deliveries go out in order on a thread of their own, so a receiver that
        is down or slow holds up only its own (one slow receiver used to delay every other by a
        timeout per delivery); one whose attempt failed slowly gets no more this round."""
        catalog = self.services.catalog
        hooks = {h.id: h for h in catalog.list_webhooks() if h.active}
        for hook_id in hooks:
            catalog.plan_deliveries(hook_id)
        due = catalog.due_deliveries(limit=100)
        by_hook: dict[str, list[DeliveryRow]] = {}
        for delivery in due:
            if delivery.hook_id in hooks and delivery.event is not None:
                by_hook.setdefault(delivery.hook_id, []).append(delivery)
        jobs = [(hooks[hook_id], rows) for hook_id, rows in by_hook.items()]
        if len(jobs) == 1:
            self._deliver(*jobs[0])
        elif jobs:
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_HOOKS, len(jobs)), thread_name_prefix="webhook") as pool:
                list(pool.map(lambda job: self._deliver(*job), jobs))
        return len(due)

    def _deliver(self, hook: WebhookRow, deliveries: list[DeliveryRow]) -> None:
        for delivery in deliveries:
            started = time.monotonic()
            if not self._attempt(hook, delivery) and time.monotonic() - started > SLOW_FAILURE:
                return  # timed out or crawling: its other deliveries wait for the next round

    def _attempt(self, hook: WebhookRow, delivery: DeliveryRow) -> bool:
        assert delivery.event is not None
        event = ChangeEvent.from_row(delivery.event)
        body = json.dumps(event.as_json(), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Kartoteka-Event": event.topic,
            "Idempotency-Key": f"{hook.id}:{event.cursor}",
            "Kartoteka-Signature": sign(hook.secret, body, int(time.time())),
        }
        status: int | None = None
        error: str | None = None
        try:
            status = self.post(hook.url, body, headers)
        except Exception as e:  # unreachable, refused, timed out: the receiver's problem, retried
            error = f"{type(e).__name__}: {e}"[:500]
        ok = status is not None and 200 <= status < 300
        if not ok and error is None:
            error = f"HTTP {status}"
        self.services.catalog.record_attempt(delivery.id, ok, status, error, None if ok else self._next(delivery))
        if not ok:
            log.info("webhook %s: delivery of %s failed (%s)", hook.url, event.cursor, error)
        return ok

    def _next(self, delivery: DeliveryRow) -> datetime | None:
        """When to try again, or None when that is past ``max_age`` (the delivery failed for good)."""
        now = self.services.catalog.now()
        when = now + timedelta(seconds=backoff(delivery.attempts + 1, self.first_backoff))
        return None if when - delivery.created_at > self.max_age else when

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                posted = self.step()
            except Exception:  # the catalog is busy or a bug: keep serving, try again later
                log.exception("webhook sender failed; trying again shortly")
                posted = 0
            if not posted:
                stop.wait(self.idle_seconds)
