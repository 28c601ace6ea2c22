"""Cards: registration with gap-free numbers, reading, clerks' updates and deletion (``CardStore``).

Registering a card archives its inputs in the same transaction; one original (by checksum)
gets one card and one number however often it is registered. Every change of a card writes
an audit entry, an outbox row (for the search index) and a change-feed event
(``archive.events``) with it; each change raises the card's ``version`` by one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from archive.catalog.base import ARCHIVE_STAGE, FINAL_OUTCOMES, CatalogBase
from archive.changes import plan_update
from archive.errors import CardNotFound, StaleVersion
from archive.events import NewEvent, append_events
from archive.model import CardDraft, CardRow, CardView, InputFileRow, OutboxOp
from archive.registration import created_diff, insert_card
from archive.rows import (
    card_row,
    get_card_row,
    load_attachments,
    load_history,
    load_pages,
    lock_input,
    update_input,
)
from archive.tables import attachments, audit, cards, input_files, organisations, outbox, pages

__all__ = ["CardStore", "SqlCards"]

log = logging.getLogger(__name__)


@runtime_checkable
class CardStore(Protocol):
    """Registration cards: numbering, reading and updating."""

    def find_card_by_sha256(self, sha256: str) -> CardRow | None: ...

    def register_card(self, input_id: str, draft: CardDraft, actor: str = "ingest") -> CardRow: ...

    def register_cards(
        self, input_id: str, drafts: Sequence[CardDraft], actor: str = "ingest"
    ) -> list[CardRow]: ...

    def register_documents(
        self, drafts: Sequence[CardDraft], owners: Mapping[str, int], actor: str = "ingest"
    ) -> list[CardRow]: ...

    def get_card(self, id_or_number: str) -> CardView | None: ...

    def count_cards(self) -> int: ...

    def card_ids(self) -> set[str]: ...

    def batch_cards(self, batch_id: str) -> list[tuple[str, str]]: ...

    def count_registered(self, since: datetime) -> tuple[int, int]: ...

    def iter_cards(self, batch_size: int = 200) -> Iterator[CardView]: ...

    def update_card(
        self,
        card_id: str,
        changes: Mapping[str, Any],
        actor: str,
        *,
        expected_version: int | None = None,
    ) -> CardRow: ...

    def delete_card(self, card_id: str, actor: str, reason: str) -> CardRow: ...


class SqlCards(CatalogBase):
    """``CardStore`` on the catalog database."""

    def find_card_by_sha256(self, sha256: str) -> CardRow | None:
        """The card registered for the original with this checksum, if any."""
        with self._read() as conn:
            found = conn.execute(select(cards).where(cards.c.source_sha256 == sha256))
            row = found.mappings().one_or_none()
        return None if row is None else card_row(row)

    def register_card(self, input_id: str, draft: CardDraft, actor: str = "ingest") -> CardRow:
        """Register a card for an input and archive the input, in one transaction.

        If the original (``draft.source_sha256``) already has a card, that card is returned and
        no number is taken; the input becomes ``archived`` if it is the card's own input (a
        re-run), or ``duplicate`` if another input was archived to that card.
        """
        return self.register_cards(input_id, [draft], actor)[0]

    def register_cards(self, input_id: str, drafts: Sequence[CardDraft], actor: str = "ingest") -> list[CardRow]:
        """Register the documents split out of one input (separator sheets), all or none.

        Numbers are consecutive in document order; the input points at the first card. Each
        draft's ``source_sha256`` is that document's own key, so a re-run registers nothing twice.
        """
        return self.register_documents(drafts, {input_id: 0}, actor)

    def register_documents(
        self, drafts: Sequence[CardDraft], owners: Mapping[str, int], actor: str = "ingest"
    ) -> list[CardRow]:
        """Register documents that come from one or more inputs (a batch split by separator sheets).

        ``owners`` maps each input id to the index of the draft holding its first page; every
        input is settled in the same transaction (``archived``, or ``duplicate`` when its card
        already belonged to another input). Drafts whose key is already registered are reused.
        """
        if not drafts or not owners:
            raise ValueError("register_documents needs drafts and their inputs")
        for attempt in (1, 2):
            try:
                with self._write() as conn:
                    return self._register(conn, drafts, owners, actor)
            except IntegrityError:
                # Lost a race for the same original (PostgreSQL); the retry finds its card.
                if attempt == 2 or self.find_card_by_sha256(drafts[0].source_sha256) is None:
                    raise
                log.info("original %s was registered concurrently", drafts[0].source_sha256)
        raise AssertionError("unreachable")

    def _register(
        self, conn: Connection, drafts: Sequence[CardDraft], owners: Mapping[str, int], actor: str
    ) -> list[CardRow]:
        sources = {input_id: lock_input(conn, input_id) for input_id in sorted(owners)}
        first_source = sources[min(owners, key=lambda i: (owners[i], i))]
        now = self._clock()
        year = now.astimezone(self._tz).year
        card_ids: list[str] = []
        created: set[str] = set()
        feed: list[NewEvent] = []
        for index, draft in enumerate(drafts):
            existing = conn.execute(
                select(cards.c.id).where(cards.c.source_sha256 == draft.source_sha256)
            ).scalar_one_or_none()
            if existing is not None:
                card_ids.append(str(existing))
                continue
            card_id, number = insert_card(
                conn,
                draft,
                batch_id=first_source.batch_id if draft.batch_id is None else draft.batch_id,
                source_name=first_source.name if draft.source_name is None else draft.source_name,
                year=year,
                now=now,
            )
            _log_change(conn, card_id, actor, "created", created_diff(draft, number), now)
            log.info("registered %s for %s", number, draft.source_sha256)
            card_ids.append(card_id)
            created.add(card_id)
            owner = min((i for i, at in owners.items() if at == index), default=first_source.id)
            feed.append(NewEvent("card.registered", card_id, owner, {"registration_number": number}))
        for input_id, index in owners.items():
            card_id = card_ids[index]
            if card_id in created:
                update_input(conn, input_id, now, outcome="archived", card_id=card_id, stage=ARCHIVE_STAGE, reason=None)
            else:
                _settle_input(conn, sources[input_id], card_id, now)
        append_events(conn, feed, now)
        return [get_card_row(conn, c) for c in card_ids]

    def get_card(self, id_or_number: str) -> CardView | None:
        """A card by id or registration number, with pages, attachments and history."""
        with self._read() as conn:
            found = conn.execute(
                select(cards).where(
                    or_(cards.c.id == id_or_number, cards.c.registration_number == id_or_number)
                )
            ).mappings().one_or_none()
            if found is None:
                return None
            card = card_row(found)
            return CardView(
                card=card,
                pages=load_pages(conn, card.id),
                attachments=load_attachments(conn, card.id),
                history=load_history(conn, card.id),
            )

    def count_cards(self) -> int:
        """How many cards the catalog holds (for progress bars)."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(cards)).scalar_one())

    def card_ids(self) -> set[str]:
        """The id of every card, read at once (one column: a million ids is some 50 MB)."""
        with self._read() as conn:
            return {str(i) for i in conn.execute(select(cards.c.id)).scalars()}

    def batch_cards(self, batch_id: str) -> list[tuple[str, str]]:
        """The (id, registration number) of every card registered from the batch, in number
        order: in a separator-sheet profile one file holds several documents, and its ledger
        entry names only the first card."""
        query = select(cards.c.id, cards.c.registration_number).where(cards.c.batch_id == batch_id)
        with self._read() as conn:
            rows = conn.execute(query.order_by(cards.c.registration_number)).all()
        return [(str(i), str(n)) for i, n in rows]

    def count_registered(self, since: datetime) -> tuple[int, int]:
        """How many cards were registered at or after ``since``, and how many pages they have
        (over the indexed ``registered_at``: cheap for a recent ``since``)."""
        query = select(func.count(), func.coalesce(func.sum(cards.c.page_count), 0)).where(cards.c.registered_at >= since)
        with self._read() as conn:
            count, page_total = conn.execute(query).one()
        return int(count), int(page_total)

    def iter_cards(self, batch_size: int = 200) -> Iterator[CardView]:
        """Every card, in id order, a few at a time (for reindexing and exports)."""
        after = ""
        while True:
            with self._read() as conn:
                page = select(cards.c.id).where(cards.c.id > after).order_by(cards.c.id).limit(batch_size)
                ids = list(conn.execute(page).scalars())
            for card_id in ids:
                view = self.get_card(card_id)
                if view is not None:
                    yield view
            if len(ids) < batch_size:
                return
            after = ids[-1]

    def update_card(
        self,
        card_id: str,
        changes: Mapping[str, Any],
        actor: str,
        *,
        expected_version: int | None = None,
    ) -> CardRow:
        """Change a card (see ``archive.changes.UPDATABLE``), with an audit entry, an outbox row
        and a ``card.changed`` event, and raise its version by one. Changes that change nothing
        write nothing (and keep the version).

        ``expected_version`` is the version the caller read (``If-Match``): if the card has
        another one now, ``StaleVersion`` is raised and nothing is written. The check runs under
        the card's row lock, in the transaction that writes the change.
        """
        with self._write() as conn:
            card = _lock_card(conn, card_id)
            if expected_version is not None and card.version != expected_version:
                raise StaleVersion(
                    f"card {card.registration_number} is at version {card.version}, not"
                    f" {expected_version}: read it again and reapply the change",
                    current=card.version,
                )
            plan = plan_update(card, changes)
            if plan.empty:
                return card
            now = self._clock()
            version = card.version + 1
            conn.execute(
                update(cards).where(cards.c.id == card.id).values(**plan.values, version=version, updated_at=now)
            )
            _log_change(conn, card.id, actor, "updated", plan.diff, now)
            data = {"registration_number": card.registration_number, "changed": sorted(plan.diff), "version": version}
            append_events(conn, [NewEvent("card.changed", card.id, None, data)], now)
            log.info("%s updated %s: %s", actor, card.registration_number, ", ".join(plan.diff))
            return get_card_row(conn, card.id)

    def delete_card(self, card_id: str, actor: str, reason: str) -> CardRow:
        """Remove a card (by id or number) with its pages and attachment rows; return it as it was.

        The blobs stay (content-addressed, they may be shared). The card's audit entries stay
        too (``audit`` keeps plain card ids) and gain a ``deleted`` entry with the reason; the
        outbox gets a ``delete`` row so the search index drops the card, and the feed a
        ``card.deleted`` event. Inputs archived to the card keep their outcome but lose the
        link (``card_id`` is a foreign key) and say why in ``reason``; a directory entry that
        names it as its source forgets it. Its number is never given again.
        """
        if not reason.strip():
            raise ValueError("deleting a card needs a reason")
        with self._write() as conn:
            card = _lock_card(conn, card_id)
            now = self._clock()
            note = f"card {card.registration_number} was deleted by {actor}: {reason}"
            conn.execute(
                update(input_files).where(input_files.c.card_id == card.id).values(card_id=None, reason=note, updated_at=now)
            )
            conn.execute(update(organisations).where(organisations.c.card_id == card.id).values(card_id=None))
            conn.execute(delete(pages).where(pages.c.card_id == card.id))
            conn.execute(delete(attachments).where(attachments.c.card_id == card.id))
            conn.execute(delete(cards).where(cards.c.id == card.id))
            diff = {"registration_number": {"old": card.registration_number, "new": None}, "reason": {"old": None, "new": reason}}
            _log_change(conn, card.id, actor, "deleted", diff, now, op="delete")
            data = {"registration_number": card.registration_number, "reason": reason}
            append_events(conn, [NewEvent("card.deleted", card.id, None, data)], now)
            log.info("%s deleted %s: %s", actor, card.registration_number, reason)
            return card


def _lock_card(conn: Connection, card_id: str) -> CardRow:
    """The card with this id or number, locked for the rest of the transaction."""
    locked = conn.execute(
        select(cards)
        .where(or_(cards.c.id == card_id, cards.c.registration_number == card_id))
        .with_for_update()
    ).mappings().one_or_none()
    if locked is None:
        raise CardNotFound(f"no card has id or number {card_id}")
    return card_row(locked)


def _settle_input(conn: Connection, source: InputFileRow, card_id: str, now: datetime) -> None:
    """Point an input at the existing card of its original: archived once, else duplicate."""
    if source.outcome in FINAL_OUTCOMES and source.card_id == card_id:
        return
    archived_elsewhere = conn.execute(
        select(func.count())
        .select_from(input_files)
        .where(
            input_files.c.card_id == card_id,
            input_files.c.outcome == "archived",
            input_files.c.id != source.id,
        )
    ).scalar_one()
    outcome = "duplicate" if archived_elsewhere else "archived"
    update_input(conn, source.id, now, outcome=outcome, card_id=card_id, stage=ARCHIVE_STAGE, reason=None)
    log.info("input %s is %s of existing card %s", source.id, outcome, card_id)


def _log_change(
    conn: Connection,
    card_id: str,
    actor: str,
    action: str,
    diff: Mapping[str, Any],
    now: datetime,
    op: OutboxOp = "upsert",
) -> None:
    """Write the audit entry and the outbox row that go with every change of a card."""
    conn.execute(
        audit.insert().values(card_id=card_id, at=now, actor=actor, action=action, changes=dict(diff))
    )
    conn.execute(outbox.insert().values(card_id=card_id, op=op, created_at=now))
