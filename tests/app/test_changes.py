"""The change feed as downstream systems read it: pages, cursors, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.changes import START, export_changes, list_changes
from app.services import Services
from app.settings import load_settings
from archive.errors import InvalidChange, InvalidCursor
from tests.archive.helpers import make_draft, record


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(load_settings({"KARTOTEKA_DATA_DIR": str(tmp_path)}))


def _register(services: Services, batch: str, source: str) -> str:
    catalog = services.catalog
    return catalog.register_card(record(catalog, batch, source), make_draft(source)).id


def test_the_feed_reports_creations_changes_deletions_and_quarantines(services: Services) -> None:
    catalog = services.catalog
    batch = catalog.open_batch("/srv/inbox", "b1")
    card = _register(services, batch, "a")
    catalog.update_card(card, {"status": "verified"}, "user:anna")
    bad = record(catalog, batch, "bad")
    catalog.mark_quarantined(bad, "not a PDF or image", "ingest")
    catalog.delete_card(card, "user:admin", "a test card")

    page = list_changes(services, after=None)

    assert [c.topic for c in page.changes] == ["card.registered", "card.changed", "file.quarantined", "card.deleted"]
    assert [c.cursor for c in page.changes] == ["1", "2", "3", "4"] and page.next_cursor == "4"
    registered = page.changes[0].as_json()
    assert set(registered) == {"cursor", "topic", "card", "registration_number", "at", "data"}
    assert (registered["card"], registered["registration_number"]) == (card, "ВХ-2026-000001")
    assert registered["at"].startswith("20") and "+00:00" in registered["at"]
    assert page.changes[1].data["changed"] == ["status"]
    quarantined = page.changes[2]
    assert (quarantined.card, quarantined.registration_number) == (None, None)
    assert quarantined.data["reason"] == "not a PDF or image" and quarantined.data["input"] == bad
    assert page.changes[3].data["reason"] == "a test card"


def test_paging_with_the_stored_cursor_sees_every_change_once(services: Services) -> None:
    batch = services.catalog.open_batch("/srv/inbox", "b1")
    for i in range(7):
        _register(services, batch, f"doc-{i}")

    seen: list[int] = []
    cursor: str | None = None
    while True:
        page = list_changes(services, after=cursor, limit=3)
        seen.extend(c.seq for c in page.changes)
        if not page.changes:
            break
        cursor = page.next_cursor
    assert seen == list(range(1, 8))
    assert page.next_cursor == cursor == "7"  # nothing new: the consumer keeps its cursor
    assert list_changes(services, after=None).next_cursor == "7"


def test_an_empty_feed_gives_back_the_start(services: Services) -> None:
    page = list_changes(services, after=None)
    assert (page.changes, page.next_cursor) == ([], START)
    assert list_changes(services, after="0").next_cursor == "0"


def test_a_consumer_killed_between_pages_resumes_from_its_stored_cursor(services: Services) -> None:
    catalog = services.catalog
    batch = catalog.open_batch("/srv/inbox", "b1")
    cards = [_register(services, batch, f"doc-{i}") for i in range(5)]
    stored = None
    seen: list[str] = []
    for crash_after in (1, 2, 0, 3):  # pages handled before each crash
        for _ in range(crash_after):
            page = list_changes(services, after=stored, limit=2)
            seen.extend(c.cursor for c in page.changes)
            stored = page.next_cursor  # stored only after the page is handled
        catalog.update_card(cards[crash_after], {"title": f"corrected {crash_after}"}, "user:anna")
    while (page := list_changes(services, after=stored, limit=2)).changes:
        seen.extend(c.cursor for c in page.changes)
        stored = page.next_cursor

    assert seen == [str(n) for n in range(1, 10)]


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "", " 1", "+1", "٣", "1" * 40, str(2**63), "9" * 19])
def test_a_malformed_cursor_is_refused(services: Services, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        list_changes(services, after=cursor)


def test_a_cursor_ahead_of_the_feed_is_refused(services: Services) -> None:
    batch = services.catalog.open_batch("/srv/inbox", "b1")
    _register(services, batch, "a")

    assert list_changes(services, after="1").changes == []
    with pytest.raises(InvalidCursor, match="ahead"):
        list_changes(services, after="2")


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_a_limit_outside_1_to_1000_is_refused(services: Services, limit: int) -> None:
    with pytest.raises(InvalidChange):
        list_changes(services, after=None, limit=limit)


def test_topics_filter_the_feed_and_unknown_ones_are_refused(services: Services) -> None:
    catalog = services.catalog
    batch = catalog.open_batch("/srv/inbox", "b1")
    card = _register(services, batch, "a")
    catalog.update_card(card, {"title": "x"}, "user:anna")

    page = list_changes(services, after=None, topics=["card.changed"])

    assert [c.topic for c in page.changes] == ["card.changed"] and page.next_cursor == "2"
    with pytest.raises(InvalidChange):
        list_changes(services, after=None, topics=["card.exploded"])


def test_export_streams_every_change_in_pages_and_returns_the_last_cursor(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = services.catalog.open_batch("/srv/inbox", "b1")
    for i in range(5):
        _register(services, batch, f"doc-{i}")
    asked: list[int] = []
    real = services.catalog.events_after

    def spy(after_seq: int, limit: int, topics: Any = None) -> Any:
        asked.append(limit)
        return real(after_seq, limit, topics)

    monkeypatch.setattr(services.catalog, "events_after", spy)
    written: list[dict[str, Any]] = []

    last = export_changes(services, after=None, write=written.append, batch=2)

    assert [w["cursor"] for w in written] == ["1", "2", "3", "4", "5"] and last == "5"
    assert asked == [2, 2, 2]  # pages of two, never the whole feed at once
    again: list[dict[str, Any]] = []
    assert export_changes(services, after=last, write=again.append) == "5" and again == []
