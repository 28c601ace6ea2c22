"""The catalog: batches, the input ledger, registration cards, their history and the outbox.

Every method is one short transaction and is idempotent, so a stage that runs twice for the
same input changes nothing the second time (durability rule 3). Writes take SQLite's write lock
at ``BEGIN`` (``archive.db.transaction(write=True)``), so processes sharing one file queue up;
on PostgreSQL, row locks on the input and on the journal counter do the same job.

Outcomes are final once they point at a card: an ``archived`` or ``duplicate`` input is never
turned into anything else, because its file may already have left the hot folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from archive.changes import plan_update
from archive.db import transaction
from archive.errors import BatchNotFound, CardNotFound
from archive.model import (
    OUTCOMES,
    CardDraft,
    CardRow,
    CardView,
    InputFileRow,
    OrganisationRow,
    OrganisationStatus,
    OutboxOp,
    OutboxRow,
    Outcome,
)
from archive.registration import created_diff, insert_card
from archive.rows import (
    card_row,
    get_card_row,
    get_input_row,
    input_row,
    input_select,
    insert_ignore,
    load_attachments,
    load_history,
    load_pages,
    lock_input,
    new_id,
    outbox_row,
    outbox_select,
    update_input,
)
from archive.tables import audit, batches, cards, input_files, organisations, outbox, pages

__all__ = ["Catalog", "utc_now"]

log = logging.getLogger(__name__)

#: Outcomes that point at a card; they are never overwritten.
FINAL_OUTCOMES: tuple[Outcome, ...] = ("archived", "duplicate")
ARCHIVE_STAGE = "archive"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Catalog:
    """The catalog on a SQLAlchemy engine (see ``archive.db.make_engine``).

    ``clock`` gives the current time (aware); ``tz`` is the office's time zone, which decides
    the year a registration number belongs to.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = utc_now,
        tz: tzinfo = timezone.utc,
    ) -> None:
        self.engine = engine
        self._clock = clock
        self._tz = tz

    def __repr__(self) -> str:
        return f"Catalog({self.engine.url.render_as_string(hide_password=True)!r})"

    def _read(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine)

    def _write(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=True)

    # -- batches -------------------------------------------------------------------------

    def open_batch(self, hotfolder: str, name: str) -> str:
        """The id of the open batch (hotfolder, name), opening it if there is none."""
        for _attempt in range(2):
            try:
                with self._write() as conn:
                    found = conn.execute(
                        select(batches.c.id).where(
                            batches.c.hotfolder == hotfolder,
                            batches.c.name == name,
                            batches.c.closed_at.is_(None),
                        )
                    ).scalar_one_or_none()
                    if found is not None:
                        return str(found)
                    batch_id = new_id()
                    conn.execute(
                        batches.insert().values(
                            id=batch_id, hotfolder=hotfolder, name=name, created_at=self._clock()
                        )
                    )
                    log.info("opened batch %s (%s in %s)", batch_id, name, hotfolder)
                    return batch_id
            except IntegrityError:  # another process opened it first (PostgreSQL)
                continue
        raise RuntimeError(f"could not open batch {name!r} in {hotfolder!r}")

    def close_batch(self, batch_id: str) -> None:
        """Close a batch; closing a closed batch does nothing."""
        with self._write() as conn:
            closed = conn.execute(
                select(batches.c.closed_at).where(batches.c.id == batch_id)
            ).one_or_none()
            if closed is None:
                raise BatchNotFound(f"no batch has id {batch_id}")
            if closed.closed_at is None:
                conn.execute(
                    update(batches).where(batches.c.id == batch_id).values(closed_at=self._clock())
                )
                log.info("closed batch %s", batch_id)

    def batch_hotfolder(self, batch_id: str) -> str:
        """The hot folder (or ``cli:…`` source) a batch came from."""
        with self._read() as conn:
            found = conn.execute(select(batches.c.hotfolder).where(batches.c.id == batch_id)).scalar_one_or_none()
        if found is None:
            raise BatchNotFound(f"no batch has id {batch_id}")
        return str(found)

    # -- the ledger ----------------------------------------------------------------------

    def record_input(
        self, batch_id: str, path: str | os.PathLike[str], name: str, sha256: str, size: int
    ) -> InputFileRow:
        """Add a file to the ledger as pending; the same (batch, path, sha256) is added once."""
        now = self._clock()
        with self._write() as conn:
            if conn.execute(select(batches.c.id).where(batches.c.id == batch_id)).first() is None:
                raise BatchNotFound(f"no batch has id {batch_id}; open one with open_batch")
            key = (batch_id, os.fspath(path), sha256)
            inserted = insert_ignore(
                conn,
                input_files,
                {
                    "id": new_id(),
                    "batch_id": key[0],
                    "path": key[1],
                    "name": name,
                    "sha256": key[2],
                    "size": size,
                    "outcome": "pending",
                    "stage": "received",
                    "created_at": now,
                    "updated_at": now,
                },
            )
            row = conn.execute(
                input_select().where(
                    input_files.c.batch_id == key[0],
                    input_files.c.path == key[1],
                    input_files.c.sha256 == key[2],
                )
            ).mappings().one()
        if inserted:
            log.debug("recorded input %s (%s)", row["id"], key[1])
        return input_row(row)

    def get_input(self, input_id: str) -> InputFileRow | None:
        with self._read() as conn:
            row = conn.execute(input_select().where(input_files.c.id == input_id))
            found = row.mappings().one_or_none()
        return None if found is None else input_row(found)

    def set_stage(self, input_id: str, stage: str) -> InputFileRow:
        """Note the stage a pending input has reached; inputs with an outcome keep theirs."""
        with self._write() as conn:
            row = lock_input(conn, input_id)
            if row.outcome == "pending" and row.stage != stage:
                update_input(conn, input_id, self._clock(), stage=stage)
            return get_input_row(conn, input_id)

    def mark_duplicate(
        self, input_id: str, card_id: str, *, stage: str | None = None
    ) -> InputFileRow:
        """Record that an input duplicates the original of card ``card_id``."""
        with self._write() as conn:
            row = lock_input(conn, input_id)
            if row.outcome in FINAL_OUTCOMES:
                if (row.outcome, row.card_id) != ("duplicate", card_id):
                    log.warning(
                        "input %s is already %s (card %s); not marking it a duplicate of %s",
                        input_id, row.outcome, row.card_id, card_id,
                    )  # fmt: skip
                return row
            values: dict[str, Any] = {"outcome": "duplicate", "card_id": card_id, "reason": None}
            if stage is not None:
                values["stage"] = stage
            update_input(conn, input_id, self._clock(), **values)
            return get_input_row(conn, input_id)

    def mark_quarantined(self, input_id: str, reason: str, stage: str) -> InputFileRow:
        """Record that an input cannot be archived, with a reason a person can act on."""
        with self._write() as conn:
            row = lock_input(conn, input_id)
            if row.outcome in FINAL_OUTCOMES:
                log.warning(
                    "input %s is already %s (card %s); not quarantining it: %s",
                    input_id, row.outcome, row.card_id, reason,
                )  # fmt: skip
                return row
            update_input(
                conn,
                input_id,
                self._clock(),
                outcome="quarantined",
                reason=reason,
                stage=stage,
                card_id=None,
            )
            return get_input_row(conn, input_id)

    def pending_inputs(self) -> list[InputFileRow]:
        """Inputs without an outcome, oldest first: the recovery sweep re-enqueues these."""
        return self.ledger(outcome="pending")

    def ledger(
        self,
        outcome: Outcome | None = None,
        batch_id: str | None = None,
        limit: int | None = None,
    ) -> list[InputFileRow]:
        """Input files, oldest first, optionally only one outcome or one batch."""
        query = input_select().order_by(input_files.c.created_at, input_files.c.path)
        if outcome is not None:
            if outcome not in OUTCOMES:
                raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
            query = query.where(input_files.c.outcome == outcome)
        if batch_id is not None:
            query = query.where(input_files.c.batch_id == batch_id)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [input_row(m) for m in conn.execute(query).mappings()]

    # -- cards ---------------------------------------------------------------------------

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
        for draft in drafts:
            existing = self._card_for(conn, draft.source_sha256)
            if existing is not None:
                card_ids.append(existing.id)
                continue
            card_id, number = insert_card(
                conn,
                draft,
                batch_id=first_source.batch_id if draft.batch_id is None else draft.batch_id,
                source_name=first_source.name if draft.source_name is None else draft.source_name,
                year=year,
                now=now,
            )
            self._log_change(conn, card_id, actor, "created", created_diff(draft, number), now)
            log.info("registered %s for %s", number, draft.source_sha256)
            card_ids.append(card_id)
            created.add(card_id)
        for input_id, index in owners.items():
            card_id = card_ids[index]
            if card_id in created:
                update_input(conn, input_id, now, outcome="archived", card_id=card_id, stage=ARCHIVE_STAGE, reason=None)
            else:
                self._settle_input(conn, sources[input_id], card_id)
        return [get_card_row(conn, c) for c in card_ids]

    def _card_for(self, conn: Connection, source_sha256: str) -> CardRow | None:
        found = conn.execute(select(cards.c.id).where(cards.c.source_sha256 == source_sha256)).scalar_one_or_none()
        return get_card_row(conn, str(found)) if found is not None else None

    def _settle_input(self, conn: Connection, source: InputFileRow, card_id: str) -> None:
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
        update_input(
            conn,
            source.id,
            self._clock(),
            outcome=outcome,
            card_id=card_id,
            stage=ARCHIVE_STAGE,
            reason=None,
        )
        log.info("input %s is %s of existing card %s", source.id, outcome, card_id)

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

    def iter_cards(self, batch_size: int = 200) -> Iterator[CardView]:
        """Every card, in id order, a few at a time (for reindexing and exports)."""
        after = ""
        while True:
            with self._read() as conn:
                page = (
                    select(cards.c.id)
                    .where(cards.c.id > after)
                    .order_by(cards.c.id)
                    .limit(batch_size)
                )
                ids = list(conn.execute(page).scalars())
            for card_id in ids:
                view = self.get_card(card_id)
                if view is not None:
                    yield view
            if len(ids) < batch_size:
                return
            after = ids[-1]

    def update_card(self, card_id: str, changes: Mapping[str, Any], actor: str) -> CardRow:
        """Change a card (see ``archive.changes.UPDATABLE``), with an audit entry and an outbox
        row. Changes that change nothing write nothing."""
        with self._write() as conn:
            locked = conn.execute(
                select(cards)
                .where(or_(cards.c.id == card_id, cards.c.registration_number == card_id))
                .with_for_update()
            ).mappings().one_or_none()
            if locked is None:
                raise CardNotFound(f"no card has id or number {card_id}")
            card = card_row(locked)
            plan = plan_update(card, changes)
            if plan.empty:
                return card
            now = self._clock()
            conn.execute(
                update(cards).where(cards.c.id == card.id).values(**plan.values, updated_at=now)
            )
            self._log_change(conn, card.id, actor, "updated", plan.diff, now)
            log.info("%s updated %s: %s", actor, card.registration_number, ", ".join(plan.diff))
            return get_card_row(conn, card.id)

    def _log_change(
        self,
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
            audit.insert().values(
                card_id=card_id, at=now, actor=actor, action=action, changes=dict(diff)
            )
        )
        conn.execute(outbox.insert().values(card_id=card_id, op=op, created_at=now))

    # -- the outbox ----------------------------------------------------------------------

    def outbox_pending(self, limit: int = 100) -> list[OutboxRow]:
        """Changes the search index has not applied yet, oldest first."""
        with self._read() as conn:
            return [outbox_row(m) for m in conn.execute(outbox_select().limit(limit)).mappings()]

    def outbox_done(self, ids: Iterable[int]) -> int:
        """Mark outbox rows as applied; returns how many were still pending."""
        wanted = list(ids)
        if not wanted:
            return 0
        with self._write() as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(wanted), outbox.c.processed_at.is_(None))
                .values(processed_at=self._clock())
            )
            return result.rowcount

    # -- the review queue and training data (classification) ------------------------------

    def review_queue(self, limit: int | None = None) -> list[CardRow]:
        """Cards with status ``needs review``, oldest registration first."""
        query = select(cards).where(cards.c.status == "needs review").order_by(cards.c.registered_at, cards.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [card_row(m) for m in conn.execute(query).mappings()]

    def count_verified(self) -> int:
        """How many cards clerks have verified (the kind model's training data)."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(cards).where(cards.c.status == "verified")).scalar_one())

    def verified_examples(self, batch_size: int = 500) -> Iterator[tuple[str, str]]:
        """(kind, page texts joined) of every verified card, a few cards at a time."""
        after = ""
        while True:
            with self._read() as conn:
                chunk = list(
                    conn.execute(
                        select(cards.c.id, cards.c.kind)
                        .where(cards.c.status == "verified", cards.c.id > after)
                        .order_by(cards.c.id)
                        .limit(batch_size)
                    )
                )
                texts: dict[str, list[str]] = {}
                if chunk:
                    rows = conn.execute(
                        select(pages.c.card_id, pages.c.text)
                        .where(pages.c.card_id.in_([r.id for r in chunk]))
                        .order_by(pages.c.card_id, pages.c.number)
                    )
                    for card_id, text in rows:
                        texts.setdefault(card_id, []).append(text)
            for r in chunk:
                yield str(r.kind), "\n".join(texts.get(r.id, []))
            if len(chunk) < batch_size:
                return
            after = chunk[-1].id

    # -- the correspondents directory -----------------------------------------------------

    def organisations(self, status: OrganisationStatus | None = None) -> list[OrganisationRow]:
        """Directory entries by name, optionally only accepted or only proposed ones."""
        query = select(organisations).order_by(organisations.c.name, organisations.c.id)
        if status is not None:
            query = query.where(organisations.c.status == status)
        with self._read() as conn:
            return [_organisation_row(m) for m in conn.execute(query).mappings()]

    def get_organisation(self, id_or_key: str) -> OrganisationRow | None:
        with self._read() as conn:
            found = conn.execute(
                select(organisations).where(or_(organisations.c.id == id_or_key, organisations.c.key == id_or_key))
            ).mappings().one_or_none()
        return None if found is None else _organisation_row(found)

    def propose_organisation(
        self, name: str, key: str, tax_id: str | None = None, card_id: str | None = None
    ) -> OrganisationRow:
        """Add a proposed entry unless one with this key exists (proposed or accepted); return it."""
        now = self._clock()
        with self._write() as conn:
            inserted = insert_ignore(
                conn,
                organisations,
                {"id": new_id(), "name": name, "key": key, "tax_id": tax_id, "status": "proposed",
                 "card_id": card_id, "created_at": now, "updated_at": now},
            )  # fmt: skip
            row = conn.execute(select(organisations).where(organisations.c.key == key)).mappings().one()
        if inserted:
            log.info("proposed organisation %s (%s)", name, key)
        return _organisation_row(row)

    def save_organisation(self, name: str, key: str, tax_id: str | None = None) -> OrganisationRow:
        """Add an accepted entry, or accept (and rename) the one with this key."""
        now = self._clock()
        with self._write() as conn:
            existing = conn.execute(select(organisations.c.id).where(organisations.c.key == key)).scalar_one_or_none()
            if existing is None:
                conn.execute(
                    organisations.insert().values(
                        id=new_id(), name=name, key=key, tax_id=tax_id, status="accepted", card_id=None,
                        created_at=now, updated_at=now,
                    )
                )  # fmt: skip
            else:
                values: dict[str, Any] = {"name": name, "status": "accepted", "updated_at": now}
                if tax_id:
                    values["tax_id"] = tax_id
                conn.execute(update(organisations).where(organisations.c.id == existing).values(**values))
            row = conn.execute(select(organisations).where(organisations.c.key == key)).mappings().one()
        return _organisation_row(row)

    def delete_organisation(self, id_or_key: str) -> bool:
        """Remove a directory entry (a rejected proposal); False if there was none."""
        with self._write() as conn:
            result = conn.execute(
                organisations.delete().where(or_(organisations.c.id == id_or_key, organisations.c.key == id_or_key))
            )
            return bool(result.rowcount)


def _organisation_row(m: Any) -> OrganisationRow:
    return OrganisationRow(
        id=m["id"], name=m["name"], key=m["key"], tax_id=m["tax_id"], status=m["status"], card_id=m["card_id"],
        created_at=m["created_at"], updated_at=m["updated_at"],
    )  # fmt: skip
