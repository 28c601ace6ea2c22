"""Several real processes registering into one catalog at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from multiprocessing.synchronize import Barrier

from sqlalchemy import select

from archive.catalog import Catalog
from archive.db import make_engine, upgrade
from archive.tables import cards
from tests.archive.helpers import make_draft, sha

PROCESSES = 4
PER_PROCESS = 25
SHARED = 5  # originals every process registers: each must get exactly one card


def _register_many(url: str, batch_id: str, worker: int, barrier: Barrier) -> None:
    engine = make_engine(url)
    catalog = Catalog(engine)
    try:
        barrier.wait(timeout=60)  # start together, so the registrations really overlap
        for i in range(PER_PROCESS):
            own = f"worker-{worker}-doc-{i}"
            row = catalog.record_input(batch_id, f"/in/{own}.pdf", f"{own}.pdf", sha(own), 1)
            catalog.register_card(row.id, make_draft(own, "ВХ"))
            if i < SHARED:
                shared = f"shared-{i}"
                path = f"/in/worker-{worker}/{shared}.pdf"
                row = catalog.record_input(batch_id, path, f"{shared}.pdf", sha(shared), 1)
                catalog.register_card(row.id, make_draft(shared, "ИСХ"))
    finally:
        engine.dispose()


def test_processes_registering_at_once_get_unique_gap_free_numbers(db_url: str) -> None:
    url = db_url
    upgrade(url)
    engine = make_engine(url)
    batch_id = Catalog(engine).open_batch("/in", "concurrent")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    workers = [
        context.Process(target=_register_many, args=(url, batch_id, n, barrier))
        for n in range(PROCESSES)
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert [worker.exitcode for worker in workers] == [0] * PROCESSES

        with engine.connect() as conn:
            numbered = conn.execute(
                select(cards.c.journal, cards.c.seq, cards.c.registration_number)
            ).all()
        incoming = sorted(seq for journal, seq, _ in numbered if journal == "ВХ")
        outgoing = sorted(seq for journal, seq, _ in numbered if journal == "ИСХ")
        assert incoming == list(range(1, PROCESSES * PER_PROCESS + 1))
        assert outgoing == list(range(1, SHARED + 1))
        assert len({number for _, _, number in numbered}) == len(numbered)

        catalog = Catalog(engine)
        assert catalog.pending_inputs() == []
        shared_inputs = [row for row in catalog.ledger() if row.name.startswith("shared-")]
        assert len(shared_inputs) == PROCESSES * SHARED
        assert sum(row.outcome == "archived" for row in shared_inputs) == SHARED
        assert sum(row.outcome == "duplicate" for row in shared_inputs) == SHARED * (PROCESSES - 1)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        engine.dispose()


def _open_new_catalog(path: str, barrier: Barrier, rounds: int) -> None:
    for n in range(rounds):
        engine = make_engine(f"sqlite:///{path}-{n}")
        try:
            barrier.wait(timeout=60)
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        finally:
            engine.dispose()


def test_processes_opening_a_new_sqlite_catalog_at_once_all_get_in(tmp_path: Path) -> None:
    # Switching a new file to WAL takes an exclusive lock without SQLite's busy handler; before
    # make_engine retried it, about one start in ten failed with "database is locked".
    rounds = 40
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    base = str(tmp_path / "catalog")
    workers = [context.Process(target=_open_new_catalog, args=(base, barrier, rounds)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
