"""Writing a new card: its number, its row, its pages and attachments, and its first audit entry.

Call inside the write transaction that also archives the input (``Catalog.register_card``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from archive.model import CardDraft, format_registration_number
from archive.numbering import next_seq
from archive.rows import fields_to_json, json_safe, new_id, reasons_to_json
from archive.tables import attachments, cards, pages

__all__ = ["created_diff", "insert_card"]


def insert_card(
    conn: Connection,
    draft: CardDraft,
    *,
    batch_id: str | None,
    source_name: str | None,
    year: int,
    now: datetime,
) -> tuple[str, str]:
    """Number and insert a card with its pages and attachments; return its id and number."""
    seq = next_seq(conn, draft.journal, year)
    card_id = new_id()
    number = format_registration_number(draft.journal, year, seq)
    conn.execute(
        cards.insert().values(
            id=card_id,
            registration_number=number,
            journal=draft.journal,
            year=year,
            seq=seq,
            registered_at=now,
            kind=draft.kind,
            title=draft.title,
            correspondent=draft.correspondent,
            doc_number=draft.doc_number,
            doc_date=draft.doc_date,
            fields=fields_to_json(draft.fields),
            page_count=len(draft.pages) if draft.page_count is None else draft.page_count,
            language=draft.language,
            status=draft.status,
            source_sha256=draft.source_sha256,
            batch_id=batch_id,
            source_name=source_name,
            created_at=now,
            updated_at=now,
            review_reasons=reasons_to_json(draft.review_reasons),
            version=1,
        )
    )
    _insert_pages_and_attachments(conn, card_id, draft)
    return card_id, number


def _insert_pages_and_attachments(conn: Connection, card_id: str, draft: CardDraft) -> None:
    if draft.pages:
        conn.execute(
            pages.insert(),
            [
                {
                    "card_id": card_id,
                    "number": page.number,
                    "text": page.text,
                    "confidence": page.confidence,
                    "rotation": page.rotation,
                    "skew": page.skew,
                    "source": page.source,
                }
                for page in draft.pages
            ],
        )
    if draft.attachments:
        conn.execute(
            attachments.insert(),
            [
                {
                    "id": new_id(),
                    "card_id": card_id,
                    "role": item.role,
                    "page": item.page,
                    "sha256": item.sha256,
                    "size": item.size,
                    "media_type": item.media_type,
                    "name": item.name,
                }
                for item in draft.attachments
            ],
        )


def created_diff(draft: CardDraft, number: str) -> dict[str, dict[str, Any]]:
    """The audit entry of a new card: each stored value as ``{"old": None, "new": …}``."""
    created: dict[str, Any] = {
        "registration_number": number,
        "journal": draft.journal,
        "kind": draft.kind,
        "title": draft.title,
        "correspondent": draft.correspondent,
        "doc_number": draft.doc_number,
        "doc_date": draft.doc_date,
        "status": draft.status,
        "source_sha256": draft.source_sha256,
        "review_reasons": reasons_to_json(draft.review_reasons),
    }
    return {name: {"old": None, "new": json_safe(value)} for name, value in created.items()}
