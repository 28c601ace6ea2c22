"""Review reasons as records: ``cards.review_reasons``, a JSON list of {code, message, field}.

Revision ID: 0003
Revises: 0002
Create Date: 2026-05-20

Before, the pipeline kept a card's reasons as one "; "-joined string in the extracted field
``fields["review_reasons"]``. Upgrading moves each such string into the new column, one
record per part with code ``other`` and no field, and drops the key from ``fields``; every
other card gets an empty list. Downgrading joins the messages back into the field.

Written by hand and self-contained, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_KEY = "review_reasons"
SEPARATOR = "; "


def _cards() -> sa.TableClause:
    """The columns of ``cards`` this migration reads and writes, as they are at this revision."""
    return sa.table(
        "cards",
        sa.column("id", sa.String(36)),
        sa.column("fields", sa.JSON()),
        sa.column("review_reasons", sa.JSON()),
    )


def _mentions(column: sa.ColumnClause[Any], key: str) -> sa.ColumnElement[bool]:
    """A cheap pre-filter on the JSON text (portable: no JSON operators needed)."""
    return sa.cast(column, sa.Text()).like(f'%"{key}"%')


def upgrade() -> None:
    op.add_column("cards", sa.Column("review_reasons", sa.JSON(), nullable=True))
    conn = op.get_bind()
    cards = _cards()
    mentioned = _mentions(cards.c.fields, LEGACY_KEY)
    legacy = conn.execute(sa.select(cards.c.id, cards.c.fields).where(mentioned)).all()
    for card_id, fields in legacy:
        if not isinstance(fields, dict) or LEGACY_KEY not in fields:
            continue
        kept = {name: value for name, value in fields.items() if name != LEGACY_KEY}
        reasons = [
            {"code": "other", "message": message, "field": None}
            for message in _legacy_text(fields[LEGACY_KEY]).split(SEPARATOR)
            if message.strip()
        ]
        conn.execute(
            sa.update(cards).where(cards.c.id == card_id).values(fields=kept, review_reasons=reasons)
        )
    conn.execute(sa.update(cards).where(cards.c.review_reasons.is_(None)).values(review_reasons=[]))


def downgrade() -> None:
    conn = op.get_bind()
    cards = _cards()
    with_reasons = _mentions(cards.c.review_reasons, "message")
    rows = conn.execute(sa.select(cards.c.id, cards.c.fields, cards.c.review_reasons).where(with_reasons)).all()
    for card_id, fields, reasons in rows:
        messages = [str(reason["message"]) for reason in reasons or ()]
        if not messages:
            continue
        restored = dict(fields or {})
        restored[LEGACY_KEY] = {"value": SEPARATOR.join(messages), "confidence": 1.0, "page": None}
        conn.execute(sa.update(cards).where(cards.c.id == card_id).values(fields=restored))
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): batch mode would recreate ``cards``,
    # which other tables' foreign keys refer to.
    op.drop_column("cards", "review_reasons")


def _legacy_text(value: Any) -> str:
    """The joined reasons: an extracted field's value, or (hand-edited rows) the bare string."""
    if isinstance(value, dict):
        value = value.get("value")
    return "" if value is None else str(value)
