"""Alembic migrations for the catalog; run them with ``archive.db.upgrade``."""
