"""Fixtures for the archive tests: a migrated catalog in a temporary SQLite file and in a scratch
PostgreSQL database on the server ``KARTOTEKA_TEST_POSTGRES_URL`` names (an account that may
create databases, e.g. ``postgresql+psycopg://kart@127.0.0.1:5432/postgres``; scripts/test.sh
starts one). Every catalog test runs on both; without the variable the PostgreSQL runs fail
under CI and are skipped elsewhere (tests/conftest.py's ``postgres_admin_url``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url

from archive.catalog import Catalog
from archive.db import make_engine, upgrade
from tests.archive.helpers import TickingClock

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """An empty database: a SQLite file, or a scratch PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"kartoteka_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """A migrated catalog database (named so as not to hide the OCR ``engine`` fixture)."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def catalog(db_engine: Engine, clock: TickingClock) -> Catalog:
    return Catalog(db_engine, clock=clock)


@pytest.fixture
def batch(catalog: Catalog) -> str:
    return catalog.open_batch("/srv/inbox", "batch-001")
