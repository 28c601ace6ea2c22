"""Engines, transactions and migrations for the catalog database (SQLite or PostgreSQL by URL).

SQLite is set up for several processes sharing one file: WAL, a 30 s busy timeout, foreign keys,
``synchronous=FULL`` (a committed outcome survives a power cut, which durability rule 1 needs),
and SQLAlchemy, not the driver, emits ``BEGIN``, so a write transaction can take the write lock
up front with ``BEGIN IMMEDIATE`` instead of failing half-way when it first writes.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool

from archive.errors import CatalogFull, CatalogNotMigrated, CatalogUnavailable
from ingest.errors import ConfigurationError, PipelineError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "alembic_config",
    "current_revision",
    "head_revision",
    "make_engine",
    "require_current_schema",
    "transaction",
    "translate_db_error",
    "upgrade",
]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
#: Execution option asking for ``BEGIN IMMEDIATE`` on SQLite (see ``transaction``).
WRITE_OPTION = "kartoteka_write"
MIGRATIONS = "archive:migrations"
# Any constant works: it names the PostgreSQL advisory lock that serialises migrations.
_PG_MIGRATION_LOCK = 0x6B617274


def make_engine(url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (``sqlite:///path/catalog.db`` or ``postgresql+…://``).

    ``busy_timeout_ms`` is how long a SQLite connection waits for another process's write
    lock before giving up with ``CatalogUnavailable``. Other keywords go to ``create_engine``.
    ConfigurationError for a URL that cannot be used: malformed, or a driver not installed.
    """
    try:
        return _make_engine(url, busy_timeout_ms, **kwargs)
    except (ArgumentError, ImportError, ValueError) as e:  # ArgumentError: also an unknown dialect or driver
        shown = url
        try:
            shown = make_url(url).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):
            shown = "(unreadable URL)"
        detail = f"driver {e.name!r} is not installed" if isinstance(e, ImportError) else " ".join(str(e).split())
        raise ConfigurationError(
            f"catalog database {shown}: {detail}; use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
        ) from e


def _make_engine(url: str, busy_timeout_ms: int, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", _json_dumps)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", busy_timeout_ms / 1000)
    if parsed.database in (None, "", ":memory:"):
        # One shared in-memory database, for tests only: access must be serialised.
        connect_args.setdefault("check_same_thread", False)
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    event.listen(engine, "connect", functools.partial(_sqlite_on_connect, busy_timeout_ms))
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _json_dumps(value: Any) -> str:
    # Keep Cyrillic and Kazakh readable in the database instead of \u escapes.
    return json.dumps(value, ensure_ascii=False)


def _sqlite_on_connect(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    # The driver must not emit BEGIN itself: _sqlite_on_begin does.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        _switch_to_wal(cursor, busy_timeout_ms)
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any, busy_timeout_ms: int) -> None:
    # Switching a journal mode takes an exclusive lock and SQLite does not call the busy handler
    # for it: two processes opening a new catalog at once made one fail at once with "database is
    # locked" (CI, stop 6). The mode is stored in the file, so this only waits on a new catalog.
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_on_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Connection]:
    """One transaction on its own connection, committed on success and rolled back on error.

    ``write=True`` takes SQLite's write lock at ``BEGIN`` (waiting up to the busy timeout), so
    writers queue instead of failing; on PostgreSQL it changes nothing (use row locks).
    Database failures become ``CatalogUnavailable`` or ``CatalogNotMigrated``.
    """
    try:
        with engine.connect() as conn:
            if write:
                conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn
    except DBAPIError as e:
        translated = translate_db_error(e)
        if translated is None:
            raise
        raise translated from e


def translate_db_error(error: DBAPIError) -> PipelineError | None:
    """Name a database failure by what the caller should do; None if it is a bug to surface."""
    message = " ".join(str(error.orig).split())  # libpq's messages run over lines ("\n\tIs the server…")
    lowered = message.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return CatalogNotMigrated(
            f"the catalog has no schema ({message}); run `kartoteka db upgrade`"
        )
    if "database or disk is full" in lowered or "could not extend file" in lowered or "no space left" in lowered:
        return CatalogFull("the catalog database", detail=message)
    if isinstance(error, OperationalError) or error.connection_invalidated:
        return CatalogUnavailable(f"the catalog database is unavailable ({message}); retry later")
    return None


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration built in code: no ``alembic.ini`` needed."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(target: Engine | str, revision: str = "head") -> None:
    """Migrate the catalog to ``revision`` (the newest by default); safe to run concurrently."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with transaction(engine, write=True) as conn:
            if conn.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                conn.execute(lock, {"key": _PG_MIGRATION_LOCK})
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        if isinstance(target, str):
            engine.dispose()
    log.info("catalog schema is at %s", revision)


def head_revision() -> str:
    """The newest migration shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise CatalogNotMigrated("no catalog migrations are installed with this package")
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None if it has never been migrated."""
    with transaction(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current_schema(engine: Engine) -> None:
    """Raise ``CatalogNotMigrated`` unless the database is at the newest migration."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise CatalogNotMigrated(
            f"the catalog schema is at {current or 'nothing'}, this code needs {head}; "
            "run `kartoteka db upgrade`"
        )
