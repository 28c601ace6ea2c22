"""ChangeFeed: events written with their change, numbered in commit order; card versions;
deleting a card."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from archive.catalog import Catalog
from archive.errors import CardNotFound, StaleVersion
from archive.tables import attachments, audit, cards, events, pages
from tests.archive.helpers import count_rows, make_draft, record, sha


def _register(catalog: Catalog, batch: str, source: str) -> str:
    return catalog.register_card(record(catalog, batch, source), make_draft(source)).id


def test_each_new_card_writes_one_registered_event_with_its_number(catalog: Catalog, batch: str) -> None:
    input_id = record(catalog, batch, "a")
    card = catalog.register_card(input_id, make_draft("a"))
    catalog.register_card(input_id, make_draft("a"))  # a re-run registers nothing, so no event

    (event,) = catalog.events_after(0, 100)
    assert (event.seq, event.topic, event.card_id, event.input_id) == (1, "card.registered", card.id, input_id)
    assert event.data == {"registration_number": "ВХ-2026-000001"}
    assert event.at == card.registered_at
    assert catalog.last_event_seq() == 1


def test_split_documents_get_one_event_each_in_number_order(catalog: Catalog, batch: str) -> None:
    input_id = record(catalog, batch, "scan")
    rows = catalog.register_cards(input_id, [make_draft("doc-1"), make_draft("doc-2"), make_draft("doc-3")])

    found = catalog.events_after(0, 100)
    assert [e.card_id for e in found] == [r.id for r in rows]
    assert [e.seq for e in found] == [1, 2, 3]
    assert {e.input_id for e in found} == {input_id}


def test_a_failed_registration_writes_no_event(catalog: Catalog, batch: str, db_engine: Engine) -> None:
    input_id = record(catalog, batch, "a")
    broken = make_draft("b", title=None)  # NOT NULL: fails after the first card was inserted

    with pytest.raises(IntegrityError):
        catalog.register_cards(input_id, [make_draft("a"), broken])

    assert count_rows(db_engine, cards) == 0
    assert catalog.events_after(0, 100) == []
    assert catalog.last_event_seq() == 0
    _register(catalog, batch, "c")
    assert [e.seq for e in catalog.events_after(0, 100)] == [1]  # the rolled-back seq is reused


def test_an_update_writes_a_changed_event_only_when_something_changed(catalog: Catalog, batch: str) -> None:
    card_id = _register(catalog, batch, "a")

    catalog.update_card(card_id, {"title": "Letter a"}, "clerk:x")  # the title it has already
    assert [e.topic for e in catalog.events_after(0, 100)] == ["card.registered"]

    updated = catalog.update_card(card_id, {"title": "new", "fields": {"bin": None, "iin": {"value": "1", "confidence": 1.0}}}, "clerk:x")

    changed = catalog.events_after(1, 100)
    assert [(e.topic, e.card_id) for e in changed] == [("card.changed", card_id)]
    assert changed[0].data == {
        "registration_number": updated.registration_number,
        "changed": ["fields.bin", "fields.iin", "title"],
        "version": 2,
    }


def test_versions_count_the_changes_and_a_stale_version_is_refused(catalog: Catalog, batch: str) -> None:
    card_id = _register(catalog, batch, "a")
    assert catalog.find_card_by_sha256(sha("a")).version == 1  # type: ignore[union-attr]

    assert catalog.update_card(card_id, {"title": "one"}, "clerk:x", expected_version=1).version == 2
    assert catalog.update_card(card_id, {"title": "one"}, "clerk:x", expected_version=2).version == 2  # no change
    assert catalog.update_card(card_id, {"title": "two"}, "clerk:y").version == 3

    with pytest.raises(StaleVersion) as refused:
        catalog.update_card(card_id, {"title": "lost update"}, "clerk:x", expected_version=2)

    assert refused.value.code == "stale-version" and refused.value.current == 3
    view = catalog.get_card(card_id)
    assert view is not None and (view.card.title, view.card.version) == ("two", 3)
    assert len(catalog.events_after(0, 100)) == 3  # registered, changed, changed: nothing for the refusal


def test_quarantine_writes_one_event_when_the_outcome_becomes_quarantined(catalog: Catalog, batch: str) -> None:
    input_id = record(catalog, batch, "bad")

    catalog.mark_quarantined(input_id, "not a PDF or image", "ingest")
    catalog.mark_quarantined(input_id, "still not a PDF", "ingest")  # already quarantined

    (event,) = catalog.events_after(0, 100)
    assert (event.topic, event.card_id, event.input_id) == ("file.quarantined", None, input_id)
    assert event.data == {"input": input_id, "batch": batch, "path": "/srv/inbox/bad.pdf",
                          "reason": "not a PDF or image", "stage": "ingest"}  # fmt: skip


def test_quarantining_an_archived_input_writes_nothing(catalog: Catalog, batch: str) -> None:
    input_id = record(catalog, batch, "a")
    catalog.register_card(input_id, make_draft("a"))

    catalog.mark_quarantined(input_id, "late failure", "ocr")

    assert [e.topic for e in catalog.events_after(0, 100)] == ["card.registered"]


def test_delete_card_removes_it_and_tells_the_index_and_the_feed(
    catalog: Catalog, batch: str, db_engine: Engine
) -> None:
    input_id = record(catalog, batch, "a")
    card = catalog.register_card(input_id, make_draft("a"))
    keep = _register(catalog, batch, "b")
    catalog.outbox_done(row.id for row in catalog.outbox_pending())

    deleted = catalog.delete_card(card.registration_number, "user:admin", "registered twice by mistake")

    assert deleted.id == card.id and catalog.get_card(card.id) is None
    with db_engine.connect() as conn:
        for table in (pages, attachments):
            assert conn.execute(select(table.c.card_id).where(table.c.card_id == card.id)).all() == []
        assert conn.execute(select(table.c.card_id).where(table.c.card_id == keep)).all() != []
        actions = conn.execute(select(audit.c.action).where(audit.c.card_id == card.id).order_by(audit.c.id)).scalars().all()
    assert actions == ["created", "deleted"]  # the history stays
    assert [(r.card_id, r.op) for r in catalog.outbox_pending()] == [(card.id, "delete")]
    last = catalog.events_after(2, 100)
    assert [(e.topic, e.card_id, e.data) for e in last] == [
        ("card.deleted", card.id, {"registration_number": card.registration_number, "reason": "registered twice by mistake"})
    ]
    row = catalog.get_input(input_id)
    assert row is not None and row.card_id is None and "deleted" in (row.reason or "")
    with pytest.raises(CardNotFound):
        catalog.delete_card(card.id, "user:admin", "again")


def test_a_deleted_cards_number_is_not_given_again(catalog: Catalog, batch: str) -> None:
    first = catalog.register_card(record(catalog, batch, "a"), make_draft("a"))
    catalog.delete_card(first.id, "user:admin", "test card")

    again = catalog.register_card(record(catalog, batch, "a", path="/srv/inbox/again.pdf"), make_draft("a"))

    assert again.id != first.id and again.seq == 2


def test_paging_sees_every_event_once_and_topics_filter(catalog: Catalog, batch: str) -> None:
    ids = [_register(catalog, batch, f"doc-{i}") for i in range(7)]
    for card_id in ids[:3]:
        catalog.update_card(card_id, {"status": "verified"}, "clerk:x")
    catalog.mark_quarantined(record(catalog, batch, "bad"), "broken", "ingest")

    seen, cursor = [], 0
    while page := catalog.events_after(cursor, 3):
        seen.extend(page)
        cursor = page[-1].seq
    assert [e.seq for e in seen] == list(range(1, 12))
    assert cursor == catalog.last_event_seq() == 11
    changed = catalog.events_after(0, 100, ["card.changed", "file.quarantined"])
    assert [e.topic for e in changed] == ["card.changed"] * 3 + ["file.quarantined"]
    assert catalog.events_after(0, 100, []) == []
    with pytest.raises(ValueError):
        catalog.events_after(0, 100, ["card.exploded"])


WRITERS = 6
PER_WRITER = 12


def test_concurrent_writers_number_events_in_commit_order_and_a_reader_misses_none(
    catalog: Catalog, batch: str
) -> None:
    inputs = {(w, i): record(catalog, batch, f"w{w}-{i}") for w in range(WRITERS) for i in range(PER_WRITER)}
    barrier, done = threading.Barrier(WRITERS + 1), threading.Event()
    errors: list[BaseException] = []
    read: list[int] = []

    def write(worker: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(PER_WRITER):
                card = catalog.register_card(inputs[worker, i], make_draft(f"w{worker}-{i}"))
                catalog.update_card(card.id, {"title": f"checked by {worker}"}, f"clerk:{worker}")
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    def consume() -> None:
        cursor = 0
        barrier.wait(timeout=30)
        while True:
            finished = done.is_set()
            page = catalog.events_after(cursor, 5)
            read.extend(e.seq for e in page)
            cursor = page[-1].seq if page else cursor
            if finished and not page:
                return
            if not page:
                # A consumer polls: with no pause at all, 400,000 read transactions a minute on
                # one SQLite file kept the writers' BEGIN IMMEDIATE from getting the lock in 30 s.
                time.sleep(0.002)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    reader = threading.Thread(target=consume)
    for thread in [*threads, reader]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    reader.join(timeout=60)

    assert errors == []
    total = WRITERS * PER_WRITER * 2
    assert read == list(range(1, total + 1))  # the consumer saw each event once, in order
    registered = catalog.events_after(0, total, ["card.registered"])
    numbers = [e.data["registration_number"] for e in registered]
    assert numbers == sorted(numbers)  # feed order is the order the numbers were taken in
    for event in catalog.events_after(0, total, ["card.changed"]):
        first = next(e for e in registered if e.card_id == event.card_id)
        assert first.seq < event.seq


def test_event_times_are_the_change_times(catalog: Catalog, batch: str, db_engine: Engine) -> None:
    card_id = _register(catalog, batch, "a")
    updated = catalog.update_card(card_id, {"title": "new"}, "clerk:x")

    changed = catalog.events_after(1, 1)[0]
    assert changed.at == updated.updated_at
    with db_engine.connect() as conn:
        assert conn.execute(select(events.c.seq)).scalars().all() == [1, 2]
