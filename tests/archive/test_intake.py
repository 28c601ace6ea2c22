"""IntakeLedger: batches, the ledger of inputs, and paging both with cursors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from archive.catalog import Catalog
from archive.errors import BatchNotFound, InvalidCursor
from archive.model import OUTCOMES
from tests.archive.helpers import TickingClock, make_draft, record, sha

INSTANT = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
ONE_TICK = timedelta(seconds=1)

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


def test_batch_hotfolder_names_the_source_of_a_batch(catalog: Catalog, batch: str) -> None:
    assert catalog.batch_hotfolder(batch) == "/srv/inbox"
    with pytest.raises(BatchNotFound):
        catalog.batch_hotfolder("no-such-batch")


def _fill(catalog: Catalog, batch: str) -> dict[str, str]:
    """One input of every outcome in ``batch``, and a second pending one."""
    archived = record(catalog, batch, "a")
    card = catalog.register_card(archived, make_draft("a"))
    duplicate = record(catalog, batch, "a", path="/srv/inbox/again.pdf")
    catalog.mark_duplicate(duplicate, card.id)
    quarantined = record(catalog, batch, "bad")
    catalog.mark_quarantined(quarantined, "not a PDF or image", "ingest")
    pending = record(catalog, batch, "later")
    other_pending = record(catalog, batch, "later-still")
    return {"archived": archived, "duplicate": duplicate, "quarantined": quarantined,
            "pending": pending, "other_pending": other_pending}  # fmt: skip


def test_get_batch_counts_inputs_per_outcome(catalog: Catalog, batch: str) -> None:
    _fill(catalog, batch)
    empty = catalog.open_batch("/srv/inbox", "empty")

    summary = catalog.get_batch(batch)

    assert summary is not None
    assert (summary.id, summary.hotfolder, summary.name, summary.closed_at) == (
        batch, "/srv/inbox", "batch-001", None,
    )  # fmt: skip
    assert summary.counts == {"pending": 2, "archived": 1, "duplicate": 1, "quarantined": 1}
    assert summary.total == 5
    empty_summary = catalog.get_batch(empty)
    assert empty_summary is not None and empty_summary.counts == dict.fromkeys(OUTCOMES, 0)
    assert catalog.get_batch("no-such-batch") is None


def test_outcome_counts_counts_every_input_by_outcome_zeros_included(catalog: Catalog, batch: str) -> None:
    assert catalog.outcome_counts() == dict.fromkeys(OUTCOMES, 0)
    _fill(catalog, batch)
    record(catalog, catalog.open_batch("/srv/other", "x"), "elsewhere")

    assert catalog.outcome_counts() == {"pending": 3, "archived": 1, "duplicate": 1, "quarantined": 1}


def test_list_batches_filters_by_hotfolder_and_open_and_keeps_counts_apart(
    catalog: Catalog, batch: str
) -> None:
    _fill(catalog, batch)
    closed = catalog.open_batch("/srv/inbox", "closed")
    record(catalog, closed, "in-closed")
    catalog.close_batch(closed)
    elsewhere = catalog.open_batch("/srv/scanner-2", "batch-001")
    record(catalog, elsewhere, "far")

    every = catalog.list_batches()

    assert [b.id for b in every] == [batch, closed, elsewhere]  # oldest first
    assert [b.counts["pending"] for b in every] == [2, 1, 1]
    assert [b.counts["archived"] for b in every] == [1, 0, 0]
    assert every[1].closed_at is not None and every[1].closed_at > every[1].created_at
    assert [b.id for b in catalog.list_batches(hotfolder="/srv/inbox")] == [batch, closed]
    assert [b.id for b in catalog.list_batches(open_only=True)] == [batch, elsewhere]
    assert [b.id for b in catalog.list_batches(hotfolder="/srv/inbox", open_only=True)] == [batch]
    assert catalog.list_batches(hotfolder="/srv/nowhere") == []


def test_list_batches_pages_with_cursors(catalog: Catalog) -> None:
    ids = [catalog.open_batch("/srv/inbox", f"b{i}") for i in range(5)]

    first = catalog.list_batches(limit=2)
    second = catalog.list_batches(limit=2, after=first[-1].cursor)
    third = catalog.list_batches(limit=2, after=second[-1].cursor)

    assert [b.id for b in first + second + third] == ids
    assert len(third) == 1
    assert catalog.list_batches(after=third[-1].cursor) == []


def test_batches_that_share_a_creation_time_page_by_id(catalog: Catalog, clock: TickingClock) -> None:
    ids = []
    for i in range(4):
        clock.set(INSTANT - ONE_TICK)  # open_batch reads the clock once: at INSTANT
        ids.append(catalog.open_batch("/srv/inbox", f"same-{i}"))

    seen: list[str] = []
    after = None
    while page := catalog.list_batches(limit=1, after=after):
        seen += [b.id for b in page]
        after = page[-1].cursor

    assert seen == sorted(ids)
    assert {b.created_at for b in catalog.list_batches()} == {INSTANT}


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
    pending = record(catalog, batch, "a")
    archived = record(catalog, batch, "b")
    catalog.register_card(archived, make_draft("b"))

    assert catalog.set_stage(pending, "ocr").stage == "ocr"
    assert catalog.set_stage(archived, "ocr").stage == "archive"


def test_quarantine_records_reason_and_stage(catalog: Catalog, batch: str) -> None:
    input_id = record(catalog, batch, "broken")

    reason = "the PDF is encrypted; send it without a password"

    row = catalog.mark_quarantined(input_id, reason, "ingest")

    assert (row.outcome, row.stage, row.card_id, row.reason) == (
        "quarantined", "ingest", None, reason,
    )  # fmt: skip
    assert catalog.pending_inputs() == []


def test_mark_duplicate_points_at_the_card(catalog: Catalog, batch: str) -> None:
    original = record(catalog, batch, "a")
    card = catalog.register_card(original, make_draft("a"))
    copy = record(catalog, batch, "a", path="/srv/inbox/scan-again.pdf")

    row = catalog.mark_duplicate(copy, card.id, stage="ingest")

    assert (row.outcome, row.card_id, row.card_number, row.stage) == (
        "duplicate", card.id, "ВХ-2026-000001", "ingest",
    )  # fmt: skip
    assert catalog.mark_duplicate(copy, card.id) == row  # idempotent


def test_an_archived_input_is_never_downgraded(catalog: Catalog, batch: str) -> None:
    input_id = record(catalog, batch, "a")
    card = catalog.register_card(input_id, make_draft("a"))
    other = catalog.register_card(record(catalog, batch, "b"), make_draft("b"))

    after_quarantine = catalog.mark_quarantined(input_id, "late failure from a stale retry", "ocr")
    after_duplicate = catalog.mark_duplicate(input_id, other.id)

    for row in (after_quarantine, after_duplicate, catalog.get_input(input_id)):
        assert row is not None
        assert (row.outcome, row.card_id, row.reason) == ("archived", card.id, None)


def test_a_quarantined_input_can_still_be_archived_by_a_later_retry(
    catalog: Catalog, batch: str
) -> None:
    input_id = record(catalog, batch, "a")
    catalog.mark_quarantined(input_id, "OCR engine timed out", "ocr")

    card = catalog.register_card(input_id, make_draft("a"))

    row = catalog.get_input(input_id)
    assert row is not None
    assert (row.outcome, row.card_id, row.reason) == ("archived", card.id, None)


def test_ledger_filters_by_outcome_batch_and_limit(catalog: Catalog, batch: str) -> None:
    archived = record(catalog, batch, "a")
    card = catalog.register_card(archived, make_draft("a"))
    duplicate = record(catalog, batch, "a", path="/srv/inbox/again.pdf")
    catalog.mark_duplicate(duplicate, card.id)
    quarantined = record(catalog, batch, "bad")
    catalog.mark_quarantined(quarantined, "not a PDF or image", "ingest")
    pending = record(catalog, batch, "later")
    second_batch = catalog.open_batch("/srv/inbox", "batch-002")
    elsewhere = record(catalog, second_batch, "elsewhere")

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


def _page_through(catalog: Catalog, size: int, **filters: object) -> list[list[str]]:
    pages: list[list[str]] = []
    after: str | None = None
    while rows := catalog.ledger(limit=size, after=after, **filters):  # type: ignore[arg-type]
        pages.append([row.id for row in rows])
        after = rows[-1].cursor
    return pages


def test_ledger_pages_cover_every_row_exactly_once(catalog: Catalog, batch: str) -> None:
    recorded = [record(catalog, batch, f"doc-{i}") for i in range(7)]

    pages = _page_through(catalog, 3)

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [row_id for page in pages for row_id in page] == recorded


def test_ledger_pages_stay_stable_while_new_inputs_are_recorded(catalog: Catalog, batch: str) -> None:
    recorded = [record(catalog, batch, f"doc-{i}") for i in range(4)]
    first = catalog.ledger(limit=3)

    recorded += [record(catalog, batch, f"new-{i}") for i in range(2)]  # arrive between pages
    rest = catalog.ledger(limit=10, after=first[-1].cursor)

    assert [row.id for row in first + rest] == recorded


def test_ledger_rows_with_the_same_time_and_path_page_by_id(
    catalog: Catalog, clock: TickingClock
) -> None:
    # The same file path in several batches, all recorded at one instant.
    ids = []
    for i in range(5):
        batch_id = catalog.open_batch("/srv/inbox", f"b{i}")
        clock.set(INSTANT - ONE_TICK)  # record_input reads the clock once: at INSTANT
        ids.append(catalog.record_input(batch_id, "/srv/inbox/same.pdf", "same.pdf", sha("x"), 1).id)

    pages = _page_through(catalog, 2)

    assert [row_id for page in pages for row_id in page] == sorted(ids)
    assert {row.created_at for row in catalog.ledger()} == {INSTANT}


def test_ledger_cursor_pages_within_a_filter(catalog: Catalog, batch: str) -> None:
    ids = _fill(catalog, batch)
    ids["late"] = record(catalog, batch, "late")

    pages = _page_through(catalog, 1, outcome="pending", batch_id=batch)

    assert pages == [[ids["pending"]], [ids["other_pending"]], [ids["late"]]]


@pytest.mark.parametrize("cursor", ["", "not a cursor", "e30", "WyJsZWRnZXIiXQ"])
def test_a_cursor_the_catalog_did_not_make_is_refused(catalog: Catalog, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        catalog.ledger(after=cursor)
    with pytest.raises(InvalidCursor):
        catalog.list_batches(after=cursor)


def test_a_batch_cursor_is_not_a_ledger_cursor(catalog: Catalog, batch: str) -> None:
    record(catalog, batch, "a")
    batch_cursor = catalog.list_batches()[0].cursor
    ledger_cursor = catalog.ledger()[0].cursor

    with pytest.raises(InvalidCursor, match="ledger"):
        catalog.ledger(after=batch_cursor)
    with pytest.raises(InvalidCursor, match="batches"):
        catalog.list_batches(after=ledger_cursor)


def test_list_batches_is_one_query_however_many_batches(catalog: Catalog, db_engine: Engine) -> None:
    for i in range(4):
        record(catalog, catalog.open_batch("/srv/inbox", f"b{i}"), f"doc-{i}")
    selects: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(db_engine, "before_cursor_execute", note)
    try:
        summaries = catalog.list_batches()
    finally:
        event.remove(db_engine, "before_cursor_execute", note)

    assert [s.counts["pending"] for s in summaries] == [1, 1, 1, 1]
    assert len(selects) == 1 and "GROUP BY" in selects[0]


def test_a_pending_input_notes_why_it_waits_and_an_outcome_keeps_its_own_reason(catalog: Catalog, batch: str) -> None:
    input_id = record(catalog, batch, "a.pdf")
    noted = catalog.note_transient(input_id, "the disk holding /data is full: free space")
    assert (noted.outcome, noted.reason) == ("pending", "the disk holding /data is full: free space")
    done = catalog.mark_quarantined(input_id, "not a scan", "ingest")
    assert catalog.note_transient(input_id, "later").reason == done.reason == "not a scan"
