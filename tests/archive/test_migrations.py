from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Connection, DateTime, Engine, column, inspect, select, table, text
from sqlalchemy.exc import IntegrityError

from archive.catalog import Catalog
from archive.db import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    require_current_schema,
    transaction,
    upgrade,
)
from archive.errors import CatalogNotMigrated
from archive.model import ReviewReason
from archive.tables import metadata

TABLES = {
    "batches",
    "input_files",
    "cards",
    "attachments",
    "pages",
    "journal_counters",
    "audit",
    "outbox",
    "organisations",
    "events",
    "event_counter",
    "api_tokens",
    "users",
    "sessions",
    "login_failures",
    "webhooks",
    "webhook_deliveries",
}


def _schema(engine: Engine) -> dict[str, set[str]]:
    """Each table and index as the set of its normalised DDL clauses (order ignored)."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master"
            " WHERE sql IS NOT NULL AND name != 'alembic_version'"
        ).fetchall()
    schema = {}
    for name, sql in rows:
        flat = re.sub(r"\s+", " ", sql)
        head, _, body = flat.partition("(")
        if head.startswith("CREATE TABLE"):
            body = body.rstrip()[:-1]  # the table's closing parenthesis
        parts, depth, current = set(), 0, ""
        for char in body:
            depth += (char == "(") - (char == ")")
            if char == "," and depth == 0:
                parts.add(current.strip())
                current = ""
            else:
                current += char
        schema[name] = parts | {head.strip(), current.strip()}
    return schema


def test_upgrade_creates_every_table_and_reaches_head(db_engine: Engine) -> None:
    assert TABLES <= set(inspect(db_engine).get_table_names())
    assert current_revision(db_engine) == head_revision() == "0004"
    require_current_schema(db_engine)


def _structure(engine: Engine) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    inspector = inspect(engine)
    return {
        table: (
            [column["name"] for column in inspector.get_columns(table)],
            sorted(
                (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                for ix in inspector.get_indexes(table)
            ),
        )
        for table in TABLES
    }


def test_upgrade_twice_changes_nothing(db_engine: Engine) -> None:
    before = _structure(db_engine)

    upgrade(db_engine)

    assert _structure(db_engine) == before
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            head_revision()
        ]


def test_upgrade_accepts_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.db'}"

    upgrade(url)

    engine = make_engine(url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_match_the_tables_module(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migrations_build_exactly_the_ddl_of_the_tables_module(
    sqlite_url: str, tmp_path: Path
) -> None:
    upgrade(sqlite_url)
    migrated = make_engine(sqlite_url)
    from_metadata = make_engine(f"sqlite:///{tmp_path / 'metadata.db'}")
    try:
        metadata.create_all(from_metadata)
        assert _schema(migrated) == _schema(from_metadata)
    finally:
        migrated.dispose()
        from_metadata.dispose()


def test_a_database_that_was_never_migrated_is_reported(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        with pytest.raises(CatalogNotMigrated, match="db upgrade"):
            require_current_schema(engine)
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1,
                       "synchronous": 2}  # fmt: skip

    with pytest.raises(IntegrityError), transaction(engine, write=True) as conn:
        conn.execute(
            text(
                "INSERT INTO input_files (id, batch_id, path, name, sha256, size, outcome,"
                " stage, created_at, updated_at) VALUES ('i', 'no-such-batch', 'p', 'n', 's',"
                " 1, 'pending', 'received', '2026-01-01', '2026-01-01')"
            )
        )
    engine.dispose()


def test_an_in_memory_catalog_can_be_migrated_and_used() -> None:
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        assert TABLES <= set(inspect(engine).get_table_names())
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


# -- 0003: review reasons move out of fields into their own column -----------------------

_BATCHES = table("batches", column("id"), column("hotfolder"), column("name"), column("created_at", DateTime(timezone=True)))
_CARDS = table(
    "cards",
    *(column(name) for name in ("id", "registration_number", "journal", "year", "seq", "kind",
                                "title", "page_count", "status", "source_sha256", "batch_id")),
    *(column(name, DateTime(timezone=True)) for name in ("registered_at", "created_at", "updated_at")),
    column("fields", JSON()),
)  # fmt: skip
LEGACY = "kind uncertain: letter 0.41 < 0.60; required field date not found"


def _legacy_card(conn: Connection, card_id: str, seq: int, fields: dict[str, object]) -> None:
    when = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    conn.execute(
        _CARDS.insert().values(
            id=card_id, registration_number=f"ВХ-2026-{seq:06d}", journal="ВХ", year=2026, seq=seq,
            kind="letter", title="t", page_count=1, status="needs review", source_sha256=f"{seq:064x}",
            batch_id="b", registered_at=when, created_at=when, updated_at=when, fields=fields,
        )
    )  # fmt: skip


def _at_0002_with_legacy_cards(db_url: str) -> Engine:
    engine = make_engine(db_url)
    upgrade(engine, "0002")
    with transaction(engine, write=True) as conn:
        when = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
        conn.execute(_BATCHES.insert().values(id="b", hotfolder="/in", name="n", created_at=when))
        bin_field = {"value": "123456789012", "confidence": 0.9, "page": 1}
        _legacy_card(conn, "legacy", 1, {
            "bin": bin_field, "review_reasons": {"value": LEGACY, "confidence": 1.0, "page": None},
        })  # fmt: skip
        _legacy_card(conn, "plain", 2, {"bin": bin_field})
    return engine


def _downgrade(engine: Engine, revision: str) -> None:
    with transaction(engine, write=True) as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_0003_moves_legacy_review_reasons_out_of_fields(db_url: str) -> None:
    engine = _at_0002_with_legacy_cards(db_url)
    try:
        upgrade(engine)

        catalog = Catalog(engine)
        legacy, plain = catalog.get_card("legacy"), catalog.get_card("plain")
        assert legacy is not None and plain is not None
        assert legacy.card.review_reasons == (
            ReviewReason("other", "kind uncertain: letter 0.41 < 0.60"),
            ReviewReason("other", "required field date not found"),
        )
        assert set(legacy.card.fields) == {"bin"}
        assert legacy.card.fields["bin"].value == "123456789012"
        assert (plain.card.review_reasons, set(plain.card.fields)) == ((), {"bin"})
        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT id, review_reasons FROM cards")).all())
        assert stored["plain"] in ("[]", [])  # an empty list, not NULL
    finally:
        engine.dispose()


def test_0003_downgrade_joins_the_reasons_back_into_fields(db_url: str) -> None:
    engine = _at_0002_with_legacy_cards(db_url)
    try:
        upgrade(engine)
        _downgrade(engine, "0002")

        assert "review_reasons" not in {c["name"] for c in inspect(engine).get_columns("cards")}
        with engine.connect() as conn:
            fields = dict(conn.execute(select(_CARDS.c.id, _CARDS.c.fields)).all())
        assert fields["legacy"]["review_reasons"]["value"] == LEGACY
        assert "review_reasons" not in fields["plain"]
        assert current_revision(engine) == "0002"
    finally:
        engine.dispose()


# -- 0004: the change feed (backfilled), card versions, accounts, webhooks ---------------------

_NEW_IN_0004 = {"events", "event_counter", "api_tokens", "users", "sessions", "login_failures", "webhooks",
                "webhook_deliveries"}  # fmt: skip
_INPUTS = table(
    "input_files",
    *(column(name) for name in ("id", "batch_id", "path", "name", "sha256", "size", "outcome", "stage", "card_id")),
    *(column(name, DateTime(timezone=True)) for name in ("created_at", "updated_at")),
)  # fmt: skip


def _at_0003_with_cards(db_url: str) -> Engine:
    """Three cards registered at 10:00, 09:00 and 11:00 (ids in another order), one with its input."""
    engine = make_engine(db_url)
    upgrade(engine, "0003")
    day = datetime(2026, 3, 2, tzinfo=timezone.utc)
    with transaction(engine, write=True) as conn:
        conn.execute(_BATCHES.insert().values(id="b", hotfolder="/in", name="n", created_at=day))
        for card_id, seq, hour in (("c-a", 2, 10), ("c-b", 1, 9), ("c-c", 3, 11)):
            when = day.replace(hour=hour)
            conn.execute(
                _CARDS.insert().values(
                    id=card_id, registration_number=f"ВХ-2026-{seq:06d}", journal="ВХ", year=2026, seq=seq,
                    kind="letter", title="t", page_count=1, status="registered", source_sha256=f"{seq:064x}",
                    batch_id="b", registered_at=when, created_at=when, updated_at=when, fields={},
                )
            )  # fmt: skip
        conn.execute(_INPUTS.insert().values(id="in-b", batch_id="b", path="/in/b.pdf", name="b.pdf",
                                             sha256="1" * 64, size=1, outcome="archived", stage="archive",
                                             card_id="c-b", created_at=day, updated_at=day))  # fmt: skip
    return engine


def test_0004_gives_existing_cards_version_1_and_a_registered_event_each(db_url: str) -> None:
    engine = _at_0003_with_cards(db_url)
    try:
        upgrade(engine)

        catalog = Catalog(engine)
        feed = catalog.events_after(0, 100)
        assert [(e.seq, e.topic, e.card_id) for e in feed] == [
            (1, "card.registered", "c-b"), (2, "card.registered", "c-a"), (3, "card.registered", "c-c"),
        ]  # fmt: skip
        assert feed[0].data == {"registration_number": "ВХ-2026-000001"}
        assert feed[0].input_id == "in-b" and feed[1].input_id is None
        assert feed[0].at == datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
        assert catalog.last_event_seq() == 3
        card = catalog.get_card("c-a")
        assert card is not None and card.card.version == 1

        updated = catalog.update_card("c-a", {"title": "new"}, "clerk:x", expected_version=1)
        assert updated.version == 2
        assert [e.seq for e in catalog.events_after(3, 100)] == [4]
    finally:
        engine.dispose()


def test_0004_on_an_empty_catalog_starts_the_feed_at_zero(db_engine: Engine) -> None:
    catalog = Catalog(db_engine)
    assert catalog.last_event_seq() == 0 and catalog.events_after(0, 10) == []


def test_0004_downgrade_drops_the_feed_accounts_and_versions(db_url: str) -> None:
    engine = _at_0003_with_cards(db_url)
    try:
        upgrade(engine)
        Catalog(engine).add_token("accounting", "read", "a" * 64)

        _downgrade(engine, "0003")

        assert current_revision(engine) == "0003"
        assert not _NEW_IN_0004 & set(inspect(engine).get_table_names())
        assert "version" not in {c["name"] for c in inspect(engine).get_columns("cards")}
        with engine.connect() as conn:
            assert sorted(conn.execute(select(_CARDS.c.id)).scalars()) == ["c-a", "c-b", "c-c"]
        upgrade(engine)  # and up again: the backfill runs afresh
        assert [e.card_id for e in Catalog(engine).events_after(0, 10)] == ["c-b", "c-a", "c-c"]
    finally:
        engine.dispose()
