"""The catalog as a whole: one implementation of every concern's protocol, and how database
failures reach the caller. Each concern has its own test module."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, make_url

from archive.catalog import (
    CardStore,
    Catalog,
    IntakeLedger,
    OrganisationDirectory,
    Outbox,
    ReviewStore,
)
from archive.db import make_engine, transaction, upgrade
from archive.errors import CatalogNotMigrated, CatalogUnavailable
from classify.classifier import TrainingSource

PROTOCOLS = [IntakeLedger, CardStore, Outbox, ReviewStore, OrganisationDirectory]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_catalog_implements_every_concern(catalog: Catalog, protocol: type) -> None:
    assert isinstance(catalog, protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_protocol_is_narrow(protocol: type) -> None:
    """No protocol names another concern's methods (callers type against the narrow one)."""
    own = {name for name in vars(protocol) if not name.startswith("_")}
    others = set().union(*({n for n in vars(p) if not n.startswith("_")} for p in PROTOCOLS if p is not protocol))
    assert own and not own & others


def test_review_store_is_a_training_source() -> None:
    for name in ("count_verified", "verified_examples"):
        assert name in vars(ReviewStore)
        wanted = inspect.signature(getattr(TrainingSource, name))
        ours = inspect.signature(getattr(ReviewStore, name))
        required = [p for p in ours.parameters.values() if p.default is inspect.Parameter.empty]
        assert [p.name for p in required] == [p.name for p in wanted.parameters.values()]


def test_repr_names_the_database_without_its_password(db_engine: Engine) -> None:
    assert repr(Catalog(db_engine)).startswith("Catalog(")
    remote = SimpleNamespace(url=make_url("postgresql+psycopg://kart:hunter2@db/kartoteka"))
    secret = Catalog(remote)  # type: ignore[arg-type]
    assert "hunter2" not in repr(secret) and "db/kartoteka" in repr(secret)


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
