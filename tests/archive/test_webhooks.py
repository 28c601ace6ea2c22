"""WebhookStore: planning deliveries from the change feed, and recording attempts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.catalog import Catalog
from archive.errors import WebhookNotFound
from tests.archive.helpers import TickingClock, make_draft, record

TOPICS = ["card.registered", "file.quarantined"]


def _activity(catalog: Catalog, batch: str, tag: str) -> None:
    """Two registrations, one change, one quarantine: three events for TOPICS, four in all."""
    first = catalog.register_card(record(catalog, batch, f"{tag}-1"), make_draft(f"{tag}-1"))
    catalog.register_card(record(catalog, batch, f"{tag}-2"), make_draft(f"{tag}-2"))
    catalog.update_card(first.id, {"title": "changed"}, "clerk:x")
    catalog.mark_quarantined(record(catalog, batch, f"{tag}-bad"), "broken", "ingest")


def test_plan_deliveries_follows_the_topics_and_is_idempotent(catalog: Catalog, batch: str) -> None:
    hook = catalog.add_webhook("https://edms.example/hook", "s3cret", TOPICS, from_seq=0)
    _activity(catalog, batch, "a")

    assert catalog.plan_deliveries(hook.id) == 3
    assert catalog.plan_deliveries(hook.id) == 0

    planned = catalog.deliveries(hook.id)
    assert [d.event.topic for d in planned if d.event] == ["card.registered", "card.registered", "file.quarantined"]
    assert [d.event_seq for d in planned] == [1, 2, 4]
    assert {(d.status, d.attempts) for d in planned} == {("pending", 0)}
    current = catalog.get_webhook(hook.id)
    assert current is not None and current.cursor == 4  # past the card.changed it does not want


def test_the_cursor_advances_a_limit_at_a_time(catalog: Catalog, batch: str) -> None:
    hook = catalog.add_webhook("https://edms.example/hook", "s3cret", TOPICS, from_seq=0)
    _activity(catalog, batch, "a")

    assert catalog.plan_deliveries(hook.id, limit=2) == 2
    after_first = catalog.get_webhook(hook.id)
    assert after_first is not None and after_first.cursor == 2
    assert catalog.plan_deliveries(hook.id, limit=2) == 1
    assert [d.event_seq for d in catalog.deliveries(hook.id, after=catalog.deliveries(hook.id)[1].id)] == [4]


def test_a_new_hook_starts_at_the_end_of_the_feed_unless_told(catalog: Catalog, batch: str) -> None:
    _activity(catalog, batch, "old")
    hook = catalog.add_webhook("https://edms.example/hook", "s3cret", ["card.registered"])
    _activity(catalog, batch, "new")

    assert hook.cursor == 4
    assert catalog.plan_deliveries(hook.id) == 2
    with pytest.raises(ValueError):
        catalog.add_webhook("https://edms.example/hook", "s3cret", ["card.exploded"])
    with pytest.raises(ValueError):
        catalog.add_webhook("https://edms.example/hook", "s3cret", [])


def test_attempts_decide_the_state(catalog: Catalog, batch: str, clock: TickingClock) -> None:
    hook = catalog.add_webhook("https://edms.example/hook", "s3cret", TOPICS, from_seq=0)
    _activity(catalog, batch, "a")
    catalog.plan_deliveries(hook.id)
    first, second, third = catalog.due_deliveries()
    later = clock.now + timedelta(minutes=5)

    retry = catalog.record_attempt(first.id, False, 503, "service unavailable", later)
    done = catalog.record_attempt(second.id, True, 200, None, None)
    failed = catalog.record_attempt(third.id, False, None, "connection refused", None)

    assert (retry.status, retry.attempts, retry.next_attempt_at, retry.last_status) == ("pending", 1, later, 503)
    assert (done.status, done.delivered_at is not None, done.next_attempt_at) == ("delivered", True, None)
    assert (failed.status, failed.last_error) == ("failed", "connection refused")
    assert catalog.due_deliveries() == []
    assert [d.id for d in catalog.due_deliveries(now=later)] == [first.id]
    assert catalog.record_attempt(second.id, False, 500, "late report", None) == done


def test_a_disabled_hook_plans_and_sends_nothing(catalog: Catalog, batch: str) -> None:
    hook = catalog.add_webhook("https://edms.example/hook", "s3cret", TOPICS, from_seq=0)
    _activity(catalog, batch, "a")
    catalog.plan_deliveries(hook.id, limit=1)

    disabled = catalog.disable_webhook(hook.id)

    assert disabled.disabled_at is not None and not disabled.active
    assert catalog.plan_deliveries(hook.id) == 0
    assert catalog.due_deliveries() == []
    assert len(catalog.deliveries(hook.id)) == 1  # the log stays
    assert [h.id for h in catalog.list_webhooks()] == [hook.id]
    with pytest.raises(WebhookNotFound):
        catalog.disable_webhook("no-such-hook")


def test_deliveries_are_counted_by_status(catalog: Catalog, batch: str) -> None:
    assert catalog.count_deliveries() == {"pending": 0, "delivered": 0, "failed": 0}
    hook = catalog.add_webhook("http://127.0.0.1:9/h", "secret-secret-1234", ["card.registered"], from_seq=0)
    for name in ("a", "b", "c"):
        catalog.register_card(record(catalog, batch, name), make_draft(name))
    assert catalog.plan_deliveries(hook.id) == 3
    first, second, _ = catalog.due_deliveries(limit=10)
    catalog.record_attempt(first.id, True, 204, None, None)
    catalog.record_attempt(second.id, False, 503, "HTTP 503", None)
    assert catalog.count_deliveries() == {"pending": 1, "delivered": 1, "failed": 1}
