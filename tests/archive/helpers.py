"""Helpers shared by the archive tests (also imported by the processes they spawn)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, func, select

from archive.catalog import IntakeLedger
from archive.model import AttachmentDraft, CardDraft, ExtractedField, PageDraft


class TickingClock:
    """A clock that moves one second forward each time it is read."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_draft(source: str, journal: str = "ВХ", **overrides: object) -> CardDraft:
    """A two-page card draft for the original whose content is ``source``."""
    digest = sha(source)
    values: dict[str, object] = {
        "journal": journal,
        "kind": "letter",
        "source_sha256": digest,
        "title": f"Letter {source}",
        "correspondent": "ТОО «Ромашка»",
        "doc_number": "17/3",
        "fields": {"bin": ExtractedField("123456789012", 0.93, 1)},
        "language": "rus",
        "pages": [
            PageDraft(number=2, text="второй лист", confidence=0.81, rotation=90, skew=0.4),
            PageDraft(number=1, text="первый лист", confidence=0.9, source="text-layer"),
        ],
        "attachments": [
            AttachmentDraft("original", digest, 1234, "application/pdf", f"{source}.pdf"),
            AttachmentDraft("text", sha(source + "-text"), 22, "text/plain", "page-1.txt", page=1),
        ],
    }
    values.update(overrides)
    return CardDraft(**values)  # type: ignore[arg-type]


def count_rows(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def record(ledger: IntakeLedger, batch: str, source: str, path: str | None = None) -> str:
    """Record the file whose content is ``source`` as pending in ``batch``; its input id."""
    return ledger.record_input(
        batch, path or f"/srv/inbox/{source}.pdf", f"{source}.pdf", sha(source), 1234
    ).id
