"""The HTTP API's data: the change feed, card versions, API tokens, accounts, sessions, failed
logins, webhooks and their deliveries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-06-01

Upgrading gives every existing card ``version`` 1 and writes one ``card.registered`` event per
existing card, in registration order, so a consumer that reads the feed from the start sees
every card; the event counter starts after them. Downgrading drops all of it.

Written by hand and self-contained, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_CHUNK = 1000
TOPICS = "topic IN ('card.registered', 'card.changed', 'card.deleted', 'file.quarantined')"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("cards", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
    _create_feed()
    _create_accounts()
    _create_webhooks()
    _backfill_events()


def _create_feed() -> None:
    op.create_table(
        "events",
        sa.Column("seq", _serial(), autoincrement=False, nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("card_id", sa.String(36), nullable=True),
        sa.Column("input_id", sa.String(36), nullable=True),
        sa.Column("at", _when(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.CheckConstraint(TOPICS, name=op.f("ck_events_topic")),
    )
    op.create_index(op.f("ix_events_card_id"), "events", ["card_id"])
    op.create_table(
        "event_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_counter")),
        sa.CheckConstraint("id = 1", name=op.f("ck_event_counter_single_row")),
    )


def _create_accounts() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("last_used_at", _when(), nullable=True),
        sa.Column("revoked_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sa.CheckConstraint("scope IN ('read', 'write', 'admin')", name=op.f("ck_api_tokens_scope")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("disabled_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
        sa.CheckConstraint("role IN ('clerk', 'operator', 'administrator')", name=op.f("ck_users_role")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("last_seen_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])
    op.create_index(op.f("ix_sessions_expires_at"), "sessions", ["expires_at"])
    op.create_table(
        "login_failures",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("failed_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_key_failed_at"), "login_failures", ["key", "failed_at"])
    op.create_index(op.f("ix_login_failures_failed_at"), "login_failures", ["failed_at"])


def _create_webhooks() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(255), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("disabled_at", _when(), nullable=True),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("hook_id", sa.String(36), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _when(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("delivered_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.ForeignKeyConstraint(["hook_id"], ["webhooks.id"], name=op.f("fk_webhook_deliveries_hook_id_webhooks")),
        sa.UniqueConstraint("hook_id", "event_seq", name=op.f("uq_webhook_deliveries_hook_id_event_seq")),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_status")
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_status_next_attempt_at"), "webhook_deliveries", ["status", "next_attempt_at"]
    )


def _backfill_events() -> None:
    """One ``card.registered`` per existing card, in registration order; the counter after them."""
    conn = op.get_bind()
    cards = sa.table(
        "cards", sa.column("id", sa.String(36)), sa.column("registration_number", sa.String(64)),
        sa.column("journal", sa.String(32)), sa.column("year", sa.Integer()), sa.column("seq", sa.Integer()),
        sa.column("registered_at", _when()),
    )  # fmt: skip
    inputs = sa.table("input_files", sa.column("id", sa.String(36)), sa.column("card_id", sa.String(36)),
                      sa.column("outcome", sa.String(16)))  # fmt: skip
    events = sa.table(
        "events", sa.column("seq", sa.BigInteger()), sa.column("topic", sa.String(32)),
        sa.column("card_id", sa.String(36)), sa.column("input_id", sa.String(36)), sa.column("at", _when()),
        sa.column("data", sa.JSON()),
    )  # fmt: skip
    owners = dict(
        conn.execute(
            sa.select(inputs.c.card_id, sa.func.min(inputs.c.id))
            .where(inputs.c.outcome == "archived", inputs.c.card_id.is_not(None))
            .group_by(inputs.c.card_id)
        ).all()
    )
    order = (cards.c.registered_at, cards.c.journal, cards.c.year, cards.c.seq, cards.c.id)
    rows = conn.execute(sa.select(cards.c.id, cards.c.registration_number, cards.c.registered_at).order_by(*order))
    seq = 0
    chunk: list[dict[str, Any]] = []
    for card_id, number, registered_at in rows.all():
        seq += 1
        chunk.append({"seq": seq, "topic": "card.registered", "card_id": card_id, "input_id": owners.get(card_id),
                      "at": registered_at, "data": {"registration_number": number}})  # fmt: skip
        if len(chunk) == BACKFILL_CHUNK:
            conn.execute(events.insert(), chunk)
            chunk = []
    if chunk:
        conn.execute(events.insert(), chunk)
    counter = sa.table("event_counter", sa.column("id", sa.Integer()), sa.column("value", sa.BigInteger()))
    conn.execute(counter.insert().values(id=1, value=seq))


def downgrade() -> None:
    for name in (
        "webhook_deliveries",
        "webhooks",
        "login_failures",
        "sessions",
        "users",
        "api_tokens",
        "event_counter",
        "events",
    ):
        op.drop_table(name)
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), as in 0003: batch mode would recreate
    # ``cards``, which other tables' foreign keys refer to.
    op.drop_column("cards", "version")
