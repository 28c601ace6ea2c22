"""Webhooks: registered receivers, and the deliveries of change-feed events to them
(``WebhookStore``).

Deliveries are planned from the change feed, never from the change itself, so ingestion does not
wait for (or even know about) receivers: ``plan_deliveries`` turns the events after a hook's
``cursor`` that match its topics into pending deliveries and moves the cursor, in one
transaction; running it twice plans nothing twice (the cursor, and ``unique(hook_id,
event_seq)``). The sender takes ``due_deliveries``, posts them, and records each attempt with
``record_attempt``, which decides the next state: delivered, pending again at
``next_attempt_at``, or failed for good.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, cast, runtime_checkable

from sqlalchemy import Connection, Select, func, select, update

from archive.catalog.base import CatalogBase
from archive.errors import WebhookNotFound
from archive.events import event_row, last_seq
from archive.model import DELIVERY_STATUSES, EVENT_TOPICS, DeliveryRow, DeliveryStatus, EventTopic, WebhookRow
from archive.rows import insert_ignore, new_id
from archive.tables import events, webhook_deliveries, webhooks

__all__ = ["SqlWebhooks", "WebhookStore"]


@runtime_checkable
class WebhookStore(Protocol):
    """Webhooks and the log of their deliveries."""

    def add_webhook(
        self, url: str, secret: str, topics: Sequence[str], *, from_seq: int | None = None
    ) -> WebhookRow: ...

    def list_webhooks(self) -> list[WebhookRow]: ...

    def get_webhook(self, hook_id: str) -> WebhookRow | None: ...

    def disable_webhook(self, hook_id: str) -> WebhookRow: ...

    def plan_deliveries(self, hook_id: str, limit: int = 500) -> int: ...

    def due_deliveries(self, now: datetime | None = None, limit: int = 100) -> list[DeliveryRow]: ...

    def record_attempt(
        self,
        delivery_id: int,
        ok: bool,
        status: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> DeliveryRow: ...

    def deliveries(self, hook_id: str, limit: int = 100, after: int | None = None) -> list[DeliveryRow]: ...

    def count_deliveries(self) -> dict[DeliveryStatus, int]: ...


class SqlWebhooks(CatalogBase):
    """``WebhookStore`` on the catalog database."""

    def add_webhook(
        self, url: str, secret: str, topics: Sequence[str], *, from_seq: int | None = None
    ) -> WebhookRow:
        """Register a receiver for ``topics``. It gets the events after ``from_seq``; by default
        only those from now on (a new hook is not flooded with the archive's history)."""
        wanted = _topics(topics)
        hook_id = new_id()
        with self._write() as conn:
            cursor = last_seq(conn) if from_seq is None else max(from_seq, 0)
            conn.execute(
                webhooks.insert().values(
                    id=hook_id, url=url, secret=secret, topics=list(wanted), created_at=self._clock(),
                    disabled_at=None, cursor=cursor,
                )
            )  # fmt: skip
            return _hook(conn, hook_id)

    def list_webhooks(self) -> list[WebhookRow]:
        """Every webhook, disabled ones too, oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)).mappings()
            return [_webhook_row(m) for m in rows]

    def get_webhook(self, hook_id: str) -> WebhookRow | None:
        with self._read() as conn:
            found = conn.execute(select(webhooks).where(webhooks.c.id == hook_id)).mappings().one_or_none()
        return None if found is None else _webhook_row(found)

    def disable_webhook(self, hook_id: str) -> WebhookRow:
        """Stop planning and sending to a hook (its log stays); disabling twice changes nothing."""
        with self._write() as conn:
            hook = _hook(conn, hook_id, lock=True)
            if hook.disabled_at is None:
                conn.execute(update(webhooks).where(webhooks.c.id == hook_id).values(disabled_at=self._clock()))
            return _hook(conn, hook_id)

    def plan_deliveries(self, hook_id: str, limit: int = 500) -> int:
        """Turn up to ``limit`` events after the hook's cursor that match its topics into
        pending deliveries, due now, and advance the cursor past them (past every event read,
        when fewer than ``limit`` matched). One transaction under the hook's row lock; returns
        how many deliveries were added. A disabled hook plans nothing."""
        if limit < 1:
            raise ValueError(f"a limit is 1 or more, not {limit}")
        with self._write() as conn:
            hook = _hook(conn, hook_id, lock=True)
            if hook.disabled_at is not None:
                return 0
            # Every event up to the counter's value is committed (seq follows commit order),
            # so reading the counter first and the events second misses none of them.
            ceiling = last_seq(conn)
            matching = (
                select(events.c.seq)
                .where(events.c.seq > hook.cursor, events.c.seq <= ceiling, events.c.topic.in_(hook.topics))
                .order_by(events.c.seq)
                .limit(limit)
            )
            seqs = [int(seq) for seq in conn.execute(matching).scalars()]
            now = self._clock()
            added = sum(
                insert_ignore(conn, webhook_deliveries, {"hook_id": hook_id, "event_seq": seq, "status": "pending",
                              "attempts": 0, "next_attempt_at": now, "created_at": now})  # fmt: skip
                for seq in seqs
            )
            cursor = seqs[-1] if len(seqs) == limit else ceiling
            if cursor > hook.cursor:
                conn.execute(update(webhooks).where(webhooks.c.id == hook_id).values(cursor=cursor))
            return added

    def due_deliveries(self, now: datetime | None = None, limit: int = 100) -> list[DeliveryRow]:
        """Pending deliveries of active hooks whose next attempt is due, soonest first."""
        when = self._clock() if now is None else now
        query = (
            _delivery_select()
            .join(webhooks, webhooks.c.id == webhook_deliveries.c.hook_id)
            .where(
                webhook_deliveries.c.status == "pending",
                webhook_deliveries.c.next_attempt_at <= when,
                webhooks.c.disabled_at.is_(None),
            )
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [_delivery_row(m) for m in conn.execute(query).mappings()]

    def record_attempt(
        self,
        delivery_id: int,
        ok: bool,
        status: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> DeliveryRow:
        """Record one attempt: ``ok`` makes it delivered; otherwise it is tried again at
        ``next_attempt_at``, or, when that is None, failed for good. A delivered delivery stays
        as it is (a late duplicate report changes nothing)."""
        with self._write() as conn:
            current = _delivery(conn, delivery_id, lock=True)
            if current.status == "delivered":
                return current
            now = self._clock()
            values: dict[str, Any] = {"attempts": current.attempts + 1, "last_status": status, "last_error": error}
            if ok:
                values.update(status="delivered", delivered_at=now, next_attempt_at=None, last_error=None)
            elif next_attempt_at is not None:
                values.update(status="pending", next_attempt_at=next_attempt_at)
            else:
                values.update(status="failed", next_attempt_at=None)
            conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(**values))
            return _delivery(conn, delivery_id)

    def deliveries(self, hook_id: str, limit: int = 100, after: int | None = None) -> list[DeliveryRow]:
        """A hook's delivery log in the order deliveries were planned; ``after`` is the id of the
        last delivery of the previous page."""
        query = _delivery_select().where(webhook_deliveries.c.hook_id == hook_id)
        if after is not None:
            query = query.where(webhook_deliveries.c.id > after)
        with self._read() as conn:
            rows = conn.execute(query.order_by(webhook_deliveries.c.id).limit(limit)).mappings()
            return [_delivery_row(m) for m in rows]


    def count_deliveries(self) -> dict[DeliveryStatus, int]:
        """Deliveries of every hook by status (every status present), for the metrics."""
        counts: dict[DeliveryStatus, int] = {status: 0 for status in DELIVERY_STATUSES}
        query = select(webhook_deliveries.c.status, func.count()).group_by(webhook_deliveries.c.status)
        with self._read() as conn:
            for status, count in conn.execute(query):
                counts[cast(DeliveryStatus, status)] = int(count)
        return counts

def _topics(topics: Sequence[str]) -> tuple[EventTopic, ...]:
    unknown = sorted(set(topics) - set(EVENT_TOPICS))
    if unknown or not topics:
        raise ValueError(f"a webhook needs topics among {', '.join(EVENT_TOPICS)}, not {list(topics)!r}")
    return tuple(t for t in EVENT_TOPICS if t in topics)


def _hook(conn: Connection, hook_id: str, *, lock: bool = False) -> WebhookRow:
    query = select(webhooks).where(webhooks.c.id == hook_id)
    found = conn.execute(query.with_for_update() if lock else query).mappings().one_or_none()
    if found is None:
        raise WebhookNotFound(f"no webhook has id {hook_id!r}")
    return _webhook_row(found)


def _webhook_row(m: Mapping[Any, Any]) -> WebhookRow:
    return WebhookRow(
        id=m["id"], url=m["url"], secret=m["secret"], topics=tuple(m["topics"] or ()), created_at=m["created_at"],
        disabled_at=m["disabled_at"], cursor=int(m["cursor"]),
    )  # fmt: skip


_EVENT_PREFIX = "feed_event_"


def _delivery_select() -> Select[Any]:
    """Deliveries with their event (its columns prefixed ``feed_event_``)."""
    event_columns = [c.label(_EVENT_PREFIX + c.name) for c in events.c]
    return select(webhook_deliveries, *event_columns).select_from(
        webhook_deliveries.outerjoin(events, events.c.seq == webhook_deliveries.c.event_seq)
    )


def _delivery(conn: Connection, delivery_id: int, *, lock: bool = False) -> DeliveryRow:
    query = _delivery_select().where(webhook_deliveries.c.id == delivery_id)
    found = conn.execute(query.with_for_update(of=webhook_deliveries) if lock else query).mappings().one_or_none()
    if found is None:
        raise ValueError(f"no webhook delivery has id {delivery_id}")
    return _delivery_row(found)


def _delivery_row(m: Mapping[Any, Any]) -> DeliveryRow:
    event = None
    if m[_EVENT_PREFIX + "seq"] is not None:
        event = event_row({c.name: m[_EVENT_PREFIX + c.name] for c in events.c})
    return DeliveryRow(
        id=int(m["id"]), hook_id=m["hook_id"], event_seq=int(m["event_seq"]), status=cast(DeliveryStatus, m["status"]),
        attempts=int(m["attempts"]), next_attempt_at=m["next_attempt_at"], last_status=m["last_status"],
        last_error=m["last_error"], created_at=m["created_at"], delivered_at=m["delivered_at"], event=event,
    )  # fmt: skip
