"""Intake: batches and the ledger of input files with their outcomes (``IntakeLedger``).

Every method is one short transaction and is idempotent, so a stage that runs twice for the
same input changes nothing the second time (durability rule 3). An ``archived`` or
``duplicate`` input is never turned into anything else, because its file may already have left
the hot folder. Listings page with opaque cursors (``row.cursor``), oldest first.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from archive.catalog.base import FINAL_OUTCOMES, CatalogBase
from archive.catalog.paging import rows_after
from archive.cursors import batch_position, ledger_position
from archive.errors import BatchNotFound
from archive.events import NewEvent, append_events
from archive.model import OUTCOMES, BatchSummary, InputFileRow, Outcome
from archive.rows import (
    batch_select,
    batch_summary,
    get_input_row,
    input_row,
    input_select,
    insert_ignore,
    lock_input,
    new_id,
    update_input,
)
from archive.tables import batches, input_files

__all__ = ["IntakeLedger", "SqlIntake"]

log = logging.getLogger(__name__)


@runtime_checkable
class IntakeLedger(Protocol):
    """Batches, and every input file with the outcome it reached."""

    def open_batch(self, hotfolder: str, name: str) -> str: ...

    def close_batch(self, batch_id: str) -> None: ...

    def batch_hotfolder(self, batch_id: str) -> str: ...

    def get_batch(self, batch_id: str) -> BatchSummary | None: ...

    def list_batches(
        self,
        hotfolder: str | None = None,
        open_only: bool = False,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[BatchSummary]: ...

    def record_input(
        self, batch_id: str, path: str | os.PathLike[str], name: str, sha256: str, size: int
    ) -> InputFileRow: ...

    def get_input(self, input_id: str) -> InputFileRow | None: ...

    def inputs_with_path_ending(self, suffix: str) -> list[InputFileRow]: ...

    def set_stage(self, input_id: str, stage: str) -> InputFileRow: ...

    def mark_duplicate(
        self, input_id: str, card_id: str, *, stage: str | None = None
    ) -> InputFileRow: ...

    def mark_quarantined(self, input_id: str, reason: str, stage: str) -> InputFileRow: ...

    def note_transient(self, input_id: str, reason: str) -> InputFileRow: ...

    def pending_inputs(self) -> list[InputFileRow]: ...

    def outcome_counts(self) -> dict[Outcome, int]: ...

    def ledger(
        self,
        outcome: Outcome | None = None,
        batch_id: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[InputFileRow]: ...


class SqlIntake(CatalogBase):
    """``IntakeLedger`` on the catalog database."""

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

    def get_batch(self, batch_id: str) -> BatchSummary | None:
        """A batch with the count of its inputs per outcome; None if there is no such batch."""
        with self._read() as conn:
            found = conn.execute(batch_select().where(batches.c.id == batch_id)).mappings().one_or_none()
        return None if found is None else batch_summary(found)

    def list_batches(
        self,
        hotfolder: str | None = None,
        open_only: bool = False,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[BatchSummary]:
        """Batches, oldest first, with the count of their inputs per outcome.

        ``after`` is the ``cursor`` of the last batch of the previous page.
        """
        query = batch_select().order_by(batches.c.created_at, batches.c.id)
        if hotfolder is not None:
            query = query.where(batches.c.hotfolder == hotfolder)
        if open_only:
            query = query.where(batches.c.closed_at.is_(None))
        if after is not None:
            query = query.where(rows_after((batches.c.created_at, batches.c.id), batch_position(after)))
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [batch_summary(m) for m in conn.execute(query).mappings()]

    # -- the ledger ----------------------------------------------------------------------

    def record_input(
        self, batch_id: str, path: str | os.PathLike[str], name: str, sha256: str, size: int
    ) -> InputFileRow:
        """Add a file to the ledger as pending; the same (batch, path, sha256) is added once."""
        now = self._clock()
        key = (batch_id, os.fspath(path), sha256)
        with self._write() as conn:
            if conn.execute(select(batches.c.id).where(batches.c.id == batch_id)).first() is None:
                raise BatchNotFound(f"no batch has id {batch_id}; open one with open_batch")
            inserted = insert_ignore(
                conn,
                input_files,
                {"id": new_id(), "batch_id": key[0], "path": key[1], "name": name, "sha256": key[2],
                 "size": size, "outcome": "pending", "stage": "received", "created_at": now,
                 "updated_at": now},
            )  # fmt: skip
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

    def inputs_with_path_ending(self, suffix: str) -> list[InputFileRow]:
        """Every input whose path ends with ``suffix`` (taken literally), oldest first."""
        with self._read() as conn:
            query = input_select().where(input_files.c.path.endswith(suffix, autoescape=True))
            found = conn.execute(query.order_by(input_files.c.created_at, input_files.c.id)).mappings()
            return [input_row(m) for m in found]

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

    def note_transient(self, input_id: str, reason: str) -> InputFileRow:
        """Say why a pending input is still pending (a full disk, an engine that could not run),
        so the ledger shows it; an input with an outcome keeps its own reason."""
        with self._write() as conn:
            row = lock_input(conn, input_id)
            if row.outcome == "pending" and row.reason != reason:
                update_input(conn, input_id, self._clock(), reason=reason)
            return get_input_row(conn, input_id)

    def mark_quarantined(self, input_id: str, reason: str, stage: str) -> InputFileRow:
        """Record that an input cannot be archived, with a reason a person can act on.

        When the outcome becomes quarantined (not when a quarantined input gets a new reason), a
        ``file.quarantined`` event joins the change feed in the same transaction.
        """
        with self._write() as conn:
            row = lock_input(conn, input_id)
            if row.outcome in FINAL_OUTCOMES:
                log.warning(
                    "input %s is already %s (card %s); not quarantining it: %s",
                    input_id, row.outcome, row.card_id, reason,
                )  # fmt: skip
                return row
            now = self._clock()
            update_input(conn, input_id, now, outcome="quarantined", reason=reason, stage=stage, card_id=None)
            if row.outcome != "quarantined":
                data = {"input": input_id, "batch": row.batch_id, "path": row.path, "reason": reason, "stage": stage}
                append_events(conn, [NewEvent("file.quarantined", None, input_id, data)], now)
            return get_input_row(conn, input_id)

    def pending_inputs(self) -> list[InputFileRow]:
        """Inputs without an outcome, oldest first: the recovery sweep re-enqueues these."""
        return self.ledger(outcome="pending")

    def outcome_counts(self) -> dict[Outcome, int]:
        """How many inputs have each outcome (every outcome, zeros included): one grouped count
        over the indexed outcome column, cheap enough for every metrics scrape."""
        query = select(input_files.c.outcome, func.count()).group_by(input_files.c.outcome)
        with self._read() as conn:
            found = {str(outcome): int(n) for outcome, n in conn.execute(query)}
        return {outcome: found.get(outcome, 0) for outcome in OUTCOMES}

    def ledger(
        self,
        outcome: Outcome | None = None,
        batch_id: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[InputFileRow]:
        """Input files, oldest first, optionally only one outcome or one batch.

        Order is (created_at, path, id); ``after`` is the ``cursor`` of the last row of the
        previous page, so pages neither repeat nor skip rows while new inputs are recorded.
        """
        order = (input_files.c.created_at, input_files.c.path, input_files.c.id)
        query = input_select().order_by(*order)
        if outcome is not None:
            if outcome not in OUTCOMES:
                raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
            query = query.where(input_files.c.outcome == outcome)
        if batch_id is not None:
            query = query.where(input_files.c.batch_id == batch_id)
        if after is not None:
            query = query.where(rows_after(order, ledger_position(after)))
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [input_row(m) for m in conn.execute(query).mappings()]
