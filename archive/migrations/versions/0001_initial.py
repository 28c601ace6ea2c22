"""The initial catalog: batches, the input ledger, cards, pages, attachments, numbering,
audit and outbox.

Revision ID: 0001
Revises:
Create Date: 2026-05-01

Written by hand; keep it self-contained (no imports from ``archive.tables``), so later changes
to the tables cannot change what this migration did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("hotfolder", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("closed_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_index(
        op.f("uq_batches_open_hotfolder_name"),
        "batches",
        ["hotfolder", "name"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )

    op.create_table(
        "cards",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("registration_number", sa.String(64), nullable=False),
        sa.Column("journal", sa.String(32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("registered_at", _when(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("correspondent", sa.Text(), nullable=True),
        sa.Column("doc_number", sa.String(128), nullable=True),
        sa.Column("doc_date", sa.Date(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("source_name", sa.String(255), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_cards_batch_id_batches")
        ),
        sa.UniqueConstraint("registration_number", name=op.f("uq_cards_registration_number")),
        sa.UniqueConstraint("source_sha256", name=op.f("uq_cards_source_sha256")),
        sa.UniqueConstraint("journal", "year", "seq", name=op.f("uq_cards_journal_year_seq")),
        sa.CheckConstraint(
            "status IN ('registered', 'needs review', 'verified')", name=op.f("ck_cards_status")
        ),
        sa.CheckConstraint("seq > 0", name=op.f("ck_cards_seq_positive")),
    )
    op.create_index(op.f("ix_cards_status"), "cards", ["status"])
    op.create_index(op.f("ix_cards_kind"), "cards", ["kind"])
    op.create_index(op.f("ix_cards_registered_at"), "cards", ["registered_at"])

    op.create_table(
        "input_files",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("card_id", sa.String(36), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_input_files")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_input_files_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_input_files_card_id_cards")
        ),
        sa.UniqueConstraint(
            "batch_id", "path", "sha256", name=op.f("uq_input_files_batch_id_path_sha256")
        ),
        sa.CheckConstraint(
            "outcome IN ('pending', 'archived', 'duplicate', 'quarantined')",
            name=op.f("ck_input_files_outcome"),
        ),
    )
    op.create_index(op.f("ix_input_files_outcome"), "input_files", ["outcome"])
    op.create_index(op.f("ix_input_files_sha256"), "input_files", ["sha256"])
    op.create_index(op.f("ix_input_files_card_id"), "input_files", ["card_id"])

    op.create_table(
        "attachments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("card_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(127), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_attachments_card_id_cards")
        ),
        sa.CheckConstraint(
            "role IN ('original', 'pdf', 'text', 'hocr')", name=op.f("ck_attachments_role")
        ),
    )
    op.create_index(op.f("ix_attachments_card_id"), "attachments", ["card_id"])
    op.create_index(op.f("ix_attachments_sha256"), "attachments", ["sha256"])

    op.create_table(
        "pages",
        sa.Column("card_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("rotation", sa.Integer(), nullable=False),
        sa.Column("skew", sa.Float(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("card_id", "number", name=op.f("pk_pages")),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_pages_card_id_cards")),
        sa.CheckConstraint("source IN ('ocr', 'text-layer')", name=op.f("ck_pages_source")),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_pages_confidence")
        ),
    )

    op.create_table(
        "journal_counters",
        sa.Column("journal", sa.String(32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("journal", "year", name=op.f("pk_journal_counters")),
    )

    op.create_table(
        "audit",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("card_id", sa.String(36), nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    op.create_index(op.f("ix_audit_card_id"), "audit", ["card_id"])

    op.create_table(
        "outbox",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("card_id", sa.String(36), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("processed_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.CheckConstraint("op IN ('upsert', 'delete')", name=op.f("ck_outbox_op")),
    )
    op.create_index(op.f("ix_outbox_processed_at"), "outbox", ["processed_at"])


def downgrade() -> None:
    for table in (
        "outbox",
        "audit",
        "journal_counters",
        "pages",
        "attachments",
        "input_files",
        "cards",
        "batches",
    ):
        op.drop_table(table)
