"""SQL helpers shared by the catalog: portable insert-if-absent, ids, reading and writing rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from archive.errors import InputNotFound
from archive.model import (
    OUTCOMES,
    AttachmentRole,
    AttachmentRow,
    AuditRow,
    BatchSummary,
    CardRow,
    CardStatus,
    ExtractedField,
    InputFileRow,
    OutboxOp,
    OutboxRow,
    Outcome,
    PageRow,
    PageSource,
    ReviewReason,
)
from archive.tables import attachments, audit, batches, cards, input_files, outbox, pages

__all__ = [
    "batch_select",
    "batch_summary",
    "card_row",
    "fields_from_json",
    "fields_to_json",
    "get_card_row",
    "get_input_row",
    "input_row",
    "input_select",
    "insert_ignore",
    "json_safe",
    "load_attachments",
    "load_history",
    "load_pages",
    "lock_input",
    "new_id",
    "outbox_row",
    "outbox_select",
    "reasons_from_json",
    "reasons_to_json",
    "update_input",
]


def new_id() -> str:
    return str(uuid.uuid4())


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert a row unless it would break a unique constraint; True if it was inserted."""
    name = conn.dialect.name
    if name == "sqlite":
        result = conn.execute(sqlite.insert(table).values(dict(values)).on_conflict_do_nothing())
        return result.rowcount == 1
    if name == "postgresql":
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT with (implicit) RETURNING,
        # which SQLAlchemy adds for a table with a serial primary key.
        inserted = conn.execute(
            postgresql.insert(table)
            .values(dict(values))
            .on_conflict_do_nothing()
            .returning(*table.primary_key.columns)
        )
        return inserted.first() is not None
    try:
        with conn.begin_nested():
            conn.execute(table.insert().values(dict(values)))
    except IntegrityError:
        return False
    return True


def json_safe(value: Any) -> Any:
    """Make a value storable in a JSON column (dates become ISO strings)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, ExtractedField):
        return value.to_json()
    if isinstance(value, ReviewReason):
        return value.as_json()
    return value


def fields_to_json(fields: Mapping[str, ExtractedField]) -> dict[str, dict[str, Any]]:
    return {name: extracted.to_json() for name, extracted in fields.items()}


def fields_from_json(data: Mapping[str, Any] | None) -> dict[str, ExtractedField]:
    return {name: ExtractedField.from_json(raw) for name, raw in (data or {}).items()}


def reasons_to_json(reasons: Iterable[ReviewReason]) -> list[dict[str, str | None]]:
    return [reason.as_json() for reason in reasons]


def reasons_from_json(data: Iterable[Any] | None) -> tuple[ReviewReason, ...]:
    """Review reasons from their column; NULL (a card stored before there were any) is none."""
    return tuple(ReviewReason.from_json(dict(raw)) for raw in (data or ()))


def input_select() -> Select[Any]:
    """Ledger rows with the number of the card each one points at."""
    return select(input_files, cards.c.registration_number.label("card_number")).select_from(
        input_files.outerjoin(cards, input_files.c.card_id == cards.c.id)
    )


def batch_select() -> Select[Any]:
    """Batches with how many of their inputs have each outcome, in one grouped query."""
    counts = [
        func.coalesce(func.sum(case((input_files.c.outcome == outcome, 1), else_=0)), 0).label(
            f"n_{outcome}"
        )
        for outcome in OUTCOMES
    ]
    return (
        select(batches, *counts)
        .select_from(batches.outerjoin(input_files, input_files.c.batch_id == batches.c.id))
        .group_by(*batches.c)
    )


def batch_summary(m: RowMapping) -> BatchSummary:
    return BatchSummary(
        id=m["id"],
        hotfolder=m["hotfolder"],
        name=m["name"],
        created_at=m["created_at"],
        closed_at=m["closed_at"],
        counts={outcome: int(m[f"n_{outcome}"]) for outcome in OUTCOMES},
    )


def input_row(m: RowMapping) -> InputFileRow:
    return InputFileRow(
        id=m["id"],
        batch_id=m["batch_id"],
        path=m["path"],
        name=m["name"],
        sha256=m["sha256"],
        size=m["size"],
        outcome=cast(Outcome, m["outcome"]),
        stage=m["stage"],
        reason=m["reason"],
        card_id=m["card_id"],
        card_number=m["card_number"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def card_row(m: RowMapping) -> CardRow:
    return CardRow(
        id=m["id"],
        registration_number=m["registration_number"],
        journal=m["journal"],
        year=m["year"],
        seq=m["seq"],
        registered_at=m["registered_at"],
        kind=m["kind"],
        title=m["title"],
        correspondent=m["correspondent"],
        doc_number=m["doc_number"],
        doc_date=m["doc_date"],
        fields=fields_from_json(m["fields"]),
        page_count=m["page_count"],
        language=m["language"],
        status=cast(CardStatus, m["status"]),
        source_sha256=m["source_sha256"],
        batch_id=m["batch_id"],
        source_name=m["source_name"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        review_reasons=reasons_from_json(m["review_reasons"]),
        version=int(m["version"]),
    )


def load_pages(conn: Connection, card_id: str) -> tuple[PageRow, ...]:
    rows = conn.execute(
        select(pages).where(pages.c.card_id == card_id).order_by(pages.c.number)
    ).mappings()
    return tuple(
        PageRow(
            number=m["number"],
            text=m["text"],
            confidence=m["confidence"],
            rotation=m["rotation"],
            skew=m["skew"],
            source=cast(PageSource, m["source"]),
        )
        for m in rows
    )


def load_attachments(conn: Connection, card_id: str) -> tuple[AttachmentRow, ...]:
    rows = conn.execute(
        select(attachments)
        .where(attachments.c.card_id == card_id)
        .order_by(attachments.c.role, attachments.c.page, attachments.c.name)
    ).mappings()
    return tuple(
        AttachmentRow(
            id=m["id"],
            role=cast(AttachmentRole, m["role"]),
            page=m["page"],
            sha256=m["sha256"],
            size=m["size"],
            media_type=m["media_type"],
            name=m["name"],
        )
        for m in rows
    )


def load_history(conn: Connection, card_id: str) -> tuple[AuditRow, ...]:
    rows = conn.execute(
        select(audit).where(audit.c.card_id == card_id).order_by(audit.c.id)
    ).mappings()
    return tuple(
        AuditRow(
            id=m["id"],
            card_id=m["card_id"],
            at=m["at"],
            actor=m["actor"],
            action=m["action"],
            changes=m["changes"],
        )
        for m in rows
    )


def outbox_row(m: RowMapping) -> OutboxRow:
    return OutboxRow(
        id=m["id"], card_id=m["card_id"], op=cast(OutboxOp, m["op"]), created_at=m["created_at"]
    )


def outbox_select() -> Select[Any]:
    return select(outbox).where(outbox.c.processed_at.is_(None)).order_by(outbox.c.id)


def lock_input(conn: Connection, input_id: str) -> InputFileRow:
    found = conn.execute(
        input_select().where(input_files.c.id == input_id).with_for_update(of=input_files)
    ).mappings().one_or_none()
    if found is None:
        raise InputNotFound(f"no input file has id {input_id}; record it with record_input first")
    return input_row(found)


def get_input_row(conn: Connection, input_id: str) -> InputFileRow:
    found = conn.execute(input_select().where(input_files.c.id == input_id))
    return input_row(found.mappings().one())


def update_input(conn: Connection, input_id: str, now: datetime, **values: Any) -> None:
    conn.execute(
        update(input_files).where(input_files.c.id == input_id).values(**values, updated_at=now)
    )


def get_card_row(conn: Connection, card_id: str) -> CardRow:
    return card_row(conn.execute(select(cards).where(cards.c.id == card_id)).mappings().one())
