"""The correspondents directory: organisations, accepted or proposed by classification.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-10

Written by hand and self-contained, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("tax_id", sa.String(12), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("card_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("key", name=op.f("uq_organisations_key")),
        sa.CheckConstraint("status IN ('accepted', 'proposed')", name=op.f("ck_organisations_status")),
    )
    op.create_index(op.f("ix_organisations_tax_id"), "organisations", ["tax_id"])
    op.create_index(op.f("ix_organisations_status"), "organisations", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_organisations_status"), table_name="organisations")
    op.drop_index(op.f("ix_organisations_tax_id"), table_name="organisations")
    op.drop_table("organisations")
