"""CardStore: registration and numbering, reading cards, clerks' updates, review reasons."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from archive.catalog import Catalog
from archive.errors import CardNotFound, InputNotFound, InvalidChange
from archive.model import CardDraft, ExtractedField, ReviewReason
from archive.tables import audit, cards, journal_counters, outbox
from tests.archive.helpers import TickingClock, count_rows, make_draft, record, sha

REASONS = (
    ReviewReason("kind_uncertain", "kind uncertain: letter 0.41 < 0.60", "kind"),
    ReviewReason("field_missing", "required field date not found", "date"),
    ReviewReason("pages_failed", "pages 2 could not be recognised"),
)

# -- registration -----------------------------------------------------------------------


def test_register_card_stores_the_card_pages_attachments_and_archives_the_input(
    catalog: Catalog, batch: str
) -> None:
    input_id = record(catalog, batch, "a")

    card = catalog.register_card(input_id, make_draft("a", doc_date=date(2026, 2, 27)))

    assert card.registration_number == "ВХ-2026-000001"
    assert (card.journal, card.year, card.seq, card.status) == ("ВХ", 2026, 1, "registered")
    assert card.registered_at.tzinfo is not None and card.registered_at.year == 2026
    assert (card.batch_id, card.source_name, card.page_count) == (batch, "a.pdf", 2)
    assert card.doc_date == date(2026, 2, 27)
    assert card.fields == {"bin": ExtractedField("123456789012", 0.93, 1)}
    assert card.review_reasons == ()
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
    input_id = record(catalog, batch, "a")

    first = catalog.register_card(input_id, make_draft("a"))
    second = catalog.register_card(input_id, make_draft("a", title="a different title"))

    assert second == first
    assert catalog.find_card_by_sha256(sha("a")) == first
    assert count_rows(db_engine, cards) == 1
    assert count_rows(db_engine, audit) == 1
    assert count_rows(db_engine, outbox) == 1
    with db_engine.connect() as conn:
        assert conn.execute(select(journal_counters.c.last_seq)).scalar_one() == 1
    assert catalog.register_card(record(catalog, batch, "b"), make_draft("b")).seq == 2


def test_a_second_input_of_a_registered_original_becomes_a_duplicate(
    catalog: Catalog, batch: str
) -> None:
    original = record(catalog, batch, "a")
    card = catalog.register_card(original, make_draft("a"))
    copy = record(catalog, batch, "a", path="/srv/inbox/copy.pdf")

    assert catalog.register_card(copy, make_draft("a")) == card

    outcomes = {row.id: (row.outcome, row.card_id) for row in catalog.ledger()}
    assert outcomes == {original: ("archived", card.id), copy: ("duplicate", card.id)}


def test_register_documents_numbers_a_split_input_in_order_and_settles_every_owner(
    catalog: Catalog, batch: str
) -> None:
    first, second = record(catalog, batch, "scan-1"), record(catalog, batch, "scan-2")
    drafts = [make_draft(f"doc-{i}") for i in range(3)]

    registered = catalog.register_documents(drafts, {first: 0, second: 2})

    assert [c.seq for c in registered] == [1, 2, 3]
    assert [c.source_name for c in registered] == ["scan-1.pdf"] * 3
    assert {row.id: (row.outcome, row.card_id) for row in catalog.ledger()} == {
        first: ("archived", registered[0].id),
        second: ("archived", registered[2].id),
    }
    assert catalog.register_cards(first, drafts) == registered  # a re-run takes no number
    with pytest.raises(ValueError, match="drafts"):
        catalog.register_documents([], {first: 0})


def test_numbers_start_at_one_per_journal_and_year_without_gaps(
    catalog: Catalog, batch: str, clock: TickingClock
) -> None:
    def register(source: str, journal: str) -> str:
        input_id = record(catalog, batch, source)
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

    card = catalog.register_card(record(catalog, batch, "a"), make_draft("a"))

    assert card.registration_number == "ВХ-2027-000001"
    assert card.registered_at.year == 2026  # stored in UTC


def test_a_failed_registration_leaves_no_gap(
    catalog: Catalog, batch: str, db_engine: Engine
) -> None:
    input_id = record(catalog, batch, "a")

    with pytest.raises(IntegrityError):  # the batch does not exist: fails after numbering
        catalog.register_card(input_id, make_draft("a", batch_id="no-such-batch"))

    row = catalog.get_input(input_id)
    assert row is not None and row.outcome == "pending"
    assert count_rows(db_engine, cards) == 0
    assert catalog.register_card(input_id, make_draft("a")).registration_number == "ВХ-2026-000001"


def test_registering_an_unknown_input_raises(catalog: Catalog) -> None:
    with pytest.raises(InputNotFound):
        catalog.register_card("no-such-input", make_draft("a"))


def test_registration_writes_a_created_audit_entry_and_an_upsert_to_the_outbox(
    catalog: Catalog, batch: str
) -> None:
    card = catalog.register_card(record(catalog, batch, "a"), make_draft("a"), actor="ingest")

    view = catalog.get_card(card.registration_number)
    assert view is not None
    [entry] = view.history
    assert (entry.actor, entry.action, entry.card_id) == ("ingest", "created", card.id)
    assert entry.changes["registration_number"] == {"old": None, "new": "ВХ-2026-000001"}
    assert entry.changes["review_reasons"] == {"old": None, "new": []}
    [pending] = catalog.outbox_pending()
    assert (pending.card_id, pending.op) == (card.id, "upsert")


# -- cards ------------------------------------------------------------------------------


def test_get_card_finds_by_id_or_number_and_returns_none_otherwise(
    catalog: Catalog, batch: str
) -> None:
    card = catalog.register_card(record(catalog, batch, "a"), make_draft("a"))

    by_id, by_number = catalog.get_card(card.id), catalog.get_card(card.registration_number)

    assert by_id is not None and by_id == by_number
    assert catalog.get_card("ВХ-2026-999999") is None
    assert catalog.find_card_by_sha256(sha("never seen")) is None


def test_update_card_writes_audit_and_outbox(catalog: Catalog, batch: str) -> None:
    card = catalog.register_card(record(catalog, batch, "a"), make_draft("a"))
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
    card = catalog.register_card(record(catalog, batch, "a"), make_draft("a"))

    unchanged = {"status": "registered", "kind": "letter", "fields": {"bin": card.fields["bin"]},
                 "review_reasons": ()}  # fmt: skip
    same = catalog.update_card(card.registration_number, unchanged, "clerk:x")

    assert same == card
    assert (count_rows(db_engine, audit), count_rows(db_engine, outbox)) == (1, 1)


@pytest.mark.parametrize(
    "changes",
    [
        {"registration_number": "ВХ-2026-000777"},
        {"journal": "ИСХ"},
        {"status": "approved"},
        {"doc_date": "31.02.2026"},
        {"kind": ""},
        {"fields": {"bin": "no confidence"}},
        {"review_reasons": "kind uncertain"},
        {"review_reasons": [{"code": "no-such-code", "message": "?"}]},
        {"review_reasons": [{"message": "no code"}]},
        {"review_reasons": ["kind uncertain"]},
    ],
)
def test_update_card_refuses_bad_changes(
    catalog: Catalog, batch: str, changes: dict[str, object]
) -> None:
    card = catalog.register_card(record(catalog, batch, "a"), make_draft("a"))

    with pytest.raises(InvalidChange):
        catalog.update_card(card.id, changes, "clerk:x")

    view = catalog.get_card(card.id)
    assert view is not None and view.card == card and len(view.history) == 1


def test_updating_an_unknown_card_raises(catalog: Catalog) -> None:
    with pytest.raises(CardNotFound):
        catalog.update_card("no-such-card", {"status": "verified"}, "clerk:x")


def test_iter_cards_yields_every_card_once(catalog: Catalog, batch: str) -> None:
    registered = {
        catalog.register_card(record(catalog, batch, f"d{i}"), make_draft(f"d{i}")).id
        for i in range(5)
    }

    seen = [view.card.id for view in catalog.iter_cards(batch_size=2)]

    assert sorted(seen) == sorted(registered)
    assert catalog.count_cards() == 5


def test_count_registered_counts_cards_and_their_pages_since_a_time(
    catalog: Catalog, batch: str, clock: TickingClock
) -> None:
    start = clock.now
    assert catalog.count_registered(start) == (0, 0)
    catalog.register_card(record(catalog, batch, "early"), make_draft("early"))
    clock.set(start + timedelta(minutes=30))
    middle = clock.now
    for source in ("late-1", "late-2"):
        catalog.register_card(record(catalog, batch, source), make_draft(source))

    assert catalog.count_registered(start) == (3, 6)  # two pages each
    assert catalog.count_registered(middle) == (2, 4)
    assert catalog.count_registered(clock.now + timedelta(seconds=5)) == (0, 0)


# -- review reasons ---------------------------------------------------------------------


def test_review_reasons_round_trip_through_registration(
    catalog: Catalog, batch: str, db_engine: Engine
) -> None:
    draft = make_draft("a", status="needs review", review_reasons=REASONS)

    card = catalog.register_card(record(catalog, batch, "a"), draft)

    assert card.review_reasons == REASONS
    assert "review_reasons" not in card.fields
    view = catalog.get_card(card.registration_number)
    assert view is not None and view.card.review_reasons == REASONS
    assert view.history[0].changes["review_reasons"] == {
        "old": None, "new": [reason.as_json() for reason in REASONS],
    }  # fmt: skip
    with db_engine.connect() as conn:
        stored = conn.execute(select(cards.c.review_reasons)).scalar_one()
    assert stored[2] == {"code": "pages_failed", "message": "pages 2 could not be recognised",
                         "field": None}  # fmt: skip


def test_a_draft_takes_reasons_as_any_sequence_but_only_review_reasons() -> None:
    draft = make_draft("a", review_reasons=list(REASONS))

    assert draft.review_reasons == REASONS
    with pytest.raises(ValueError, match="ReviewReason"):
        make_draft("a", review_reasons=("kind uncertain",))


def test_update_card_clears_review_reasons_and_audits_them(catalog: Catalog, batch: str) -> None:
    draft = make_draft("a", status="needs review", review_reasons=REASONS)
    card = catalog.register_card(record(catalog, batch, "a"), draft)

    updated = catalog.update_card(card.id, {"review_reasons": None, "status": "verified"}, "clerk:x")

    assert (updated.review_reasons, updated.status) == ((), "verified")
    view = catalog.get_card(card.id)
    assert view is not None and view.card.review_reasons == ()
    entry = view.history[-1]
    assert entry.changes["review_reasons"] == {
        "old": [reason.as_json() for reason in REASONS], "new": [],
    }  # fmt: skip
    assert catalog.review_queue() == []


def test_update_card_sets_review_reasons_from_records_or_their_json(
    catalog: Catalog, batch: str
) -> None:
    card = catalog.register_card(record(catalog, batch, "a"), make_draft("a"))

    updated = catalog.update_card(
        card.id, {"review_reasons": [REASONS[0], REASONS[1].as_json()]}, "classify"
    )

    assert updated.review_reasons == REASONS[:2]
    again = catalog.update_card(card.id, {"review_reasons": list(REASONS[:2])}, "classify")
    view = catalog.get_card(card.id)
    assert again == updated
    assert view is not None and len(view.history) == 2  # the same reasons changed nothing


def test_review_reasons_default_to_none_for_drafts(catalog: Catalog, batch: str) -> None:
    plain = CardDraft(journal="ВХ", kind="letter", source_sha256=sha("plain"))

    card = catalog.register_card(record(catalog, batch, "plain"), plain)

    assert plain.review_reasons == () and card.review_reasons == ()
