from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, Table, func, select
from sqlalchemy.exc import IntegrityError

from archive.catalog import Catalog
from archive.db import make_engine, transaction, upgrade
from archive.errors import (
    BatchNotFound,
    CardNotFound,
    CatalogNotMigrated,
    CatalogUnavailable,
    InputNotFound,
    InvalidChange,
)
from archive.model import ExtractedField
from archive.tables import audit, cards, journal_counters, outbox
from tests.archive.helpers import TickingClock, make_draft, sha


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _input(catalog: Catalog, batch: str, source: str, path: str | None = None) -> str:
    return catalog.record_input(
        batch, path or f"/srv/inbox/{source}.pdf", f"{source}.pdf", sha(source), 1234
    ).id


# -- batches ----------------------------------------------------------------------------


def test_open_batch_returns_the_same_id_until_the_batch_is_closed(catalog: Catalog) -> None:
    first = catalog.open_batch("/srv/inbox", "monday")
    assert catalog.open_batch("/srv/inbox", "monday") == first
    assert catalog.open_batch("/srv/other", "monday") != first

    catalog.close_batch(first)
    catalog.close_batch(first)  # closing twice is harmless

    reopened = catalog.open_batch("/srv/inbox", "monday")
    assert reopened != first
    with pytest.raises(BatchNotFound):
        catalog.close_batch("no-such-batch")


# -- the ledger -------------------------------------------------------------------------


def test_recording_the_same_file_twice_gives_one_pending_row(catalog: Catalog, batch: str) -> None:
    first = catalog.record_input(batch, Path("/srv/inbox/a.pdf"), "a.pdf", sha("a"), 10)
    again = catalog.record_input(batch, "/srv/inbox/a.pdf", "a.pdf", sha("a"), 10)
    other = catalog.record_input(batch, "/srv/inbox/copy-of-a.pdf", "copy-of-a.pdf", sha("a"), 10)

    assert again == first
    assert other.id != first.id
    assert (first.outcome, first.stage, first.card_id, first.path) == (
        "pending", "received", None, "/srv/inbox/a.pdf",
    )  # fmt: skip
    assert [row.id for row in catalog.ledger()] == [first.id, other.id]
    with pytest.raises(BatchNotFound):
        catalog.record_input("no-such-batch", "/srv/inbox/a.pdf", "a.pdf", sha("a"), 10)


def test_set_stage_moves_pending_inputs_only(catalog: Catalog, batch: str) -> None:
    pending = _input(catalog, batch, "a")
    archived = _input(catalog, batch, "b")
    catalog.register_card(archived, make_draft("b"))

    assert catalog.set_stage(pending, "ocr").stage == "ocr"
    assert catalog.set_stage(archived, "ocr").stage == "archive"


def test_quarantine_records_reason_and_stage(catalog: Catalog, batch: str) -> None:
    input_id = _input(catalog, batch, "broken")

    reason = "the PDF is encrypted; send it without a password"

    row = catalog.mark_quarantined(input_id, reason, "ingest")

    assert (row.outcome, row.stage, row.card_id, row.reason) == (
        "quarantined", "ingest", None, reason,
    )  # fmt: skip
    assert catalog.pending_inputs() == []


def test_mark_duplicate_points_at_the_card(catalog: Catalog, batch: str) -> None:
    original = _input(catalog, batch, "a")
    card = catalog.register_card(original, make_draft("a"))
    copy = _input(catalog, batch, "a", path="/srv/inbox/scan-again.pdf")

    row = catalog.mark_duplicate(copy, card.id, stage="ingest")

    assert (row.outcome, row.card_id, row.card_number, row.stage) == (
        "duplicate", card.id, "ВХ-2026-000001", "ingest",
    )  # fmt: skip
    assert catalog.mark_duplicate(copy, card.id) == row  # idempotent


def test_an_archived_input_is_never_downgraded(catalog: Catalog, batch: str) -> None:
    input_id = _input(catalog, batch, "a")
    card = catalog.register_card(input_id, make_draft("a"))
    other = catalog.register_card(_input(catalog, batch, "b"), make_draft("b"))

    after_quarantine = catalog.mark_quarantined(input_id, "late failure from a stale retry", "ocr")
    after_duplicate = catalog.mark_duplicate(input_id, other.id)

    for row in (after_quarantine, after_duplicate, catalog.get_input(input_id)):
        assert row is not None
        assert (row.outcome, row.card_id, row.reason) == ("archived", card.id, None)


def test_a_quarantined_input_can_still_be_archived_by_a_later_retry(
    catalog: Catalog, batch: str
) -> None:
    input_id = _input(catalog, batch, "a")
    catalog.mark_quarantined(input_id, "OCR engine timed out", "ocr")

    card = catalog.register_card(input_id, make_draft("a"))

    row = catalog.get_input(input_id)
    assert row is not None
    assert (row.outcome, row.card_id, row.reason) == ("archived", card.id, None)


def test_ledger_filters_by_outcome_batch_and_limit(catalog: Catalog, batch: str) -> None:
    archived = _input(catalog, batch, "a")
    card = catalog.register_card(archived, make_draft("a"))
    duplicate = _input(catalog, batch, "a", path="/srv/inbox/again.pdf")
    catalog.mark_duplicate(duplicate, card.id)
    quarantined = _input(catalog, batch, "bad")
    catalog.mark_quarantined(quarantined, "not a PDF or image", "ingest")
    pending = _input(catalog, batch, "later")
    second_batch = catalog.open_batch("/srv/inbox", "batch-002")
    elsewhere = _input(catalog, second_batch, "elsewhere")

    def ids(**filters: object) -> list[str]:
        return [row.id for row in catalog.ledger(**filters)]  # type: ignore[arg-type]

    assert ids(outcome="archived") == [archived]
    assert ids(outcome="duplicate") == [duplicate]
    assert ids(outcome="quarantined") == [quarantined]
    assert ids(outcome="pending") == [pending, elsewhere]
    assert ids(batch_id=batch) == [archived, duplicate, quarantined, pending]
    assert ids(batch_id=second_batch) == [elsewhere]
    assert ids(outcome="pending", batch_id=batch) == [pending]
    assert ids(limit=2) == [archived, duplicate]
    assert [row.id for row in catalog.pending_inputs()] == [pending, elsewhere]
    assert catalog.ledger(outcome="archived")[0].card_number == card.registration_number
    with pytest.raises(ValueError, match="outcome"):
        catalog.ledger(outcome="lost")  # type: ignore[arg-type]


# -- registration -----------------------------------------------------------------------


def test_register_card_stores_the_card_pages_attachments_and_archives_the_input(
    catalog: Catalog, batch: str
) -> None:
    input_id = _input(catalog, batch, "a")

    card = catalog.register_card(input_id, make_draft("a", doc_date=date(2026, 2, 27)))

    assert card.registration_number == "ВХ-2026-000001"
    assert (card.journal, card.year, card.seq, card.status) == ("ВХ", 2026, 1, "registered")
    assert card.registered_at.tzinfo is not None and card.registered_at.year == 2026
    assert (card.batch_id, card.source_name, card.page_count) == (batch, "a.pdf", 2)
    assert card.doc_date == date(2026, 2, 27)
    assert card.fields == {"bin": ExtractedField("123456789012", 0.93, 1)}
    view = catalog.get_card(card.id)
    assert view is not None and view.card == card
    assert [p.number for p in view.pages] == [1, 2]
    assert (view.pages[0].source, view.pages[1].rotation) == ("text-layer", 90)
    assert sorted(a.role for a in view.attachments) == ["original", "text"]
    row = catalog.get_input(input_id)
    assert row is not None
    assert (row.outcome, row.card_id, row.stage) == ("archived", card.id, "archive")


def test_registering_the_same_original_twice_gives_one_card_and_one_number(
    catalog: Catalog, batch: str, db_engine: Engine
) -> None:
    input_id = _input(catalog, batch, "a")

    first = catalog.register_card(input_id, make_draft("a"))
    second = catalog.register_card(input_id, make_draft("a", title="a different title"))

    assert second == first
    assert catalog.find_card_by_sha256(sha("a")) == first
    assert _count(db_engine, cards) == 1
    assert _count(db_engine, audit) == 1
    assert _count(db_engine, outbox) == 1
    with db_engine.connect() as conn:
        assert conn.execute(select(journal_counters.c.last_seq)).scalar_one() == 1
    assert catalog.register_card(_input(catalog, batch, "b"), make_draft("b")).seq == 2


def test_a_second_input_of_a_registered_original_becomes_a_duplicate(
    catalog: Catalog, batch: str
) -> None:
    original = _input(catalog, batch, "a")
    card = catalog.register_card(original, make_draft("a"))
    copy = _input(catalog, batch, "a", path="/srv/inbox/copy.pdf")

    assert catalog.register_card(copy, make_draft("a")) == card

    outcomes = {row.id: (row.outcome, row.card_id) for row in catalog.ledger()}
    assert outcomes == {original: ("archived", card.id), copy: ("duplicate", card.id)}


def test_numbers_start_at_one_per_journal_and_year_without_gaps(
    catalog: Catalog, batch: str, clock: TickingClock
) -> None:
    def register(source: str, journal: str) -> str:
        input_id = _input(catalog, batch, source)
        return catalog.register_card(input_id, make_draft(source, journal)).registration_number

    numbers = [register(f"in-{i}", "ВХ") for i in range(3)]
    numbers += [register(f"out-{i}", "ИСХ") for i in range(2)]
    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=timezone.utc))
    numbers += [register("next-year", "ВХ"), register("next-year-2", "ВХ")]

    assert numbers == [
        "ВХ-2026-000001",
        "ВХ-2026-000002",
        "ВХ-2026-000003",
        "ИСХ-2026-000001",
        "ИСХ-2026-000002",
        "ВХ-2027-000001",
        "ВХ-2027-000002",
    ]


def test_the_year_is_that_of_the_office_time_zone(db_engine: Engine, batch: str) -> None:
    almaty = timezone(timedelta(hours=5))
    clock = TickingClock(datetime(2026, 12, 31, 19, 30, tzinfo=timezone.utc))  # 00:30 in Almaty
    catalog = Catalog(db_engine, clock=clock, tz=almaty)

    card = catalog.register_card(_input(catalog, batch, "a"), make_draft("a"))

    assert card.registration_number == "ВХ-2027-000001"
    assert card.registered_at.year == 2026  # stored in UTC


def test_a_failed_registration_leaves_no_gap(
    catalog: Catalog, batch: str, db_engine: Engine
) -> None:
    input_id = _input(catalog, batch, "a")

    with pytest.raises(IntegrityError):  # the batch does not exist: fails after numbering
        catalog.register_card(input_id, make_draft("a", batch_id="no-such-batch"))

    row = catalog.get_input(input_id)
    assert row is not None and row.outcome == "pending"
    assert _count(db_engine, cards) == 0
    assert catalog.register_card(input_id, make_draft("a")).registration_number == "ВХ-2026-000001"


def test_registering_an_unknown_input_raises(catalog: Catalog) -> None:
    with pytest.raises(InputNotFound):
        catalog.register_card("no-such-input", make_draft("a"))


def test_registration_writes_a_created_audit_entry_and_an_upsert_to_the_outbox(
    catalog: Catalog, batch: str
) -> None:
    card = catalog.register_card(_input(catalog, batch, "a"), make_draft("a"), actor="ingest")

    view = catalog.get_card(card.registration_number)
    assert view is not None
    [entry] = view.history
    assert (entry.actor, entry.action, entry.card_id) == ("ingest", "created", card.id)
    assert entry.changes["registration_number"] == {"old": None, "new": "ВХ-2026-000001"}
    [pending] = catalog.outbox_pending()
    assert (pending.card_id, pending.op) == (card.id, "upsert")


# -- cards ------------------------------------------------------------------------------


def test_get_card_finds_by_id_or_number_and_returns_none_otherwise(
    catalog: Catalog, batch: str
) -> None:
    card = catalog.register_card(_input(catalog, batch, "a"), make_draft("a"))

    by_id, by_number = catalog.get_card(card.id), catalog.get_card(card.registration_number)

    assert by_id is not None and by_id == by_number
    assert catalog.get_card("ВХ-2026-999999") is None
    assert catalog.find_card_by_sha256(sha("never seen")) is None


def test_update_card_writes_audit_and_outbox(catalog: Catalog, batch: str) -> None:
    card = catalog.register_card(_input(catalog, batch, "a"), make_draft("a"))
    catalog.outbox_done(row.id for row in catalog.outbox_pending())

    updated = catalog.update_card(
        card.id,
        {
            "status": "verified",
            "doc_date": "2026-02-28",
            "title": "Invoice 17/3",
            "fields": {"bin": None, "amount": {"value": "1500.00", "confidence": 1.0, "page": 2}},
        },
        actor="clerk:ivanova",
    )

    assert (updated.status, updated.doc_date, updated.title) == (
        "verified", date(2026, 2, 28), "Invoice 17/3",
    )  # fmt: skip
    assert updated.fields == {"amount": ExtractedField("1500.00", 1.0, 2)}
    assert updated.updated_at > card.updated_at
    assert updated.registration_number == card.registration_number
    view = catalog.get_card(card.id)
    assert view is not None
    entry = view.history[-1]
    assert (entry.actor, entry.action) == ("clerk:ivanova", "updated")
    assert entry.changes == {
        "status": {"old": "registered", "new": "verified"},
        "doc_date": {"old": None, "new": "2026-02-28"},
        "title": {"old": "Letter a", "new": "Invoice 17/3"},
        "fields.bin": {
            "old": {"value": "123456789012", "confidence": 0.93, "page": 1},
            "new": None,
        },
        "fields.amount": {"old": None, "new": {"value": "1500.00", "confidence": 1.0, "page": 2}},
    }
    assert [(row.card_id, row.op) for row in catalog.outbox_pending()] == [(card.id, "upsert")]


def test_an_update_that_changes_nothing_writes_nothing(
    catalog: Catalog, batch: str, db_engine: Engine
) -> None:
    card = catalog.register_card(_input(catalog, batch, "a"), make_draft("a"))

    unchanged = {"status": "registered", "kind": "letter", "fields": {"bin": card.fields["bin"]}}
    same = catalog.update_card(card.registration_number, unchanged, "clerk:x")

    assert same == card
    assert (_count(db_engine, audit), _count(db_engine, outbox)) == (1, 1)


@pytest.mark.parametrize(
    "changes",
    [
        {"registration_number": "ВХ-2026-000777"},
        {"journal": "ИСХ"},
        {"status": "approved"},
        {"doc_date": "31.02.2026"},
        {"kind": ""},
        {"fields": {"bin": "no confidence"}},
    ],
)
def test_update_card_refuses_bad_changes(
    catalog: Catalog, batch: str, changes: dict[str, object]
) -> None:
    card = catalog.register_card(_input(catalog, batch, "a"), make_draft("a"))

    with pytest.raises(InvalidChange):
        catalog.update_card(card.id, changes, "clerk:x")

    view = catalog.get_card(card.id)
    assert view is not None and view.card == card and len(view.history) == 1


def test_updating_an_unknown_card_raises(catalog: Catalog) -> None:
    with pytest.raises(CardNotFound):
        catalog.update_card("no-such-card", {"status": "verified"}, "clerk:x")


def test_iter_cards_yields_every_card_once(catalog: Catalog, batch: str) -> None:
    registered = {
        catalog.register_card(_input(catalog, batch, f"d{i}"), make_draft(f"d{i}")).id
        for i in range(5)
    }

    seen = [view.card.id for view in catalog.iter_cards(batch_size=2)]

    assert sorted(seen) == sorted(registered)


# -- the outbox -------------------------------------------------------------------------


def test_outbox_done_removes_rows_from_pending_once(catalog: Catalog, batch: str) -> None:
    for source in ("a", "b", "c"):
        catalog.register_card(_input(catalog, batch, source), make_draft(source))
    first, second, third = catalog.outbox_pending()
    assert first.id < second.id < third.id
    assert len(catalog.outbox_pending(limit=2)) == 2

    assert catalog.outbox_done([first.id, second.id]) == 2
    assert catalog.outbox_done([first.id]) == 0
    assert catalog.outbox_done([]) == 0

    assert catalog.outbox_pending() == [third]


# -- database failures ------------------------------------------------------------------


def test_a_catalog_without_schema_says_to_run_the_migrations(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with pytest.raises(CatalogNotMigrated, match="kartoteka db upgrade"):
            Catalog(engine).ledger()
    finally:
        engine.dispose()


def test_a_locked_sqlite_catalog_is_reported_as_transient(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    impatient = make_engine(sqlite_url, busy_timeout_ms=50)
    try:
        with transaction(engine, write=True):  # another writer holds the lock
            with pytest.raises(CatalogUnavailable, match="retry later"):
                Catalog(impatient).open_batch("/srv/inbox", "blocked")
    finally:
        impatient.dispose()
        engine.dispose()
