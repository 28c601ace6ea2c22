from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from archive.db import (
    current_revision,
    head_revision,
    make_engine,
    require_current_schema,
    transaction,
    upgrade,
)
from archive.errors import CatalogNotMigrated
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
    assert current_revision(db_engine) == head_revision() == "0002"
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
