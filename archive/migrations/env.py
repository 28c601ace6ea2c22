"""Alembic environment for the catalog, configured in code by ``archive.db.alembic_config``.

``archive.db.upgrade`` passes an open connection (inside its own write transaction) as
``config.attributes["connection"]``; without one, the ``sqlalchemy.url`` main option is used.
Logging is left to the application: this file does not call ``fileConfig``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from archive.db import make_engine, transaction
from archive.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: use archive.db.upgrade()")
    engine = make_engine(url)
    try:
        with transaction(engine, write=True) as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
