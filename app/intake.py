"""Ingest files or folders now (``kartoteka ingest``; the HTTP upload will take the same path).

Files given this way are archived like hot-folder files but never moved or deleted: a folder is
one batch of its files, a file a batch of one. ``ingest_paths`` returns when every file has an
outcome (or still pending after its retries: a transient failure), and brings the search index
up to date so what was ingested can be searched at once. A full disk under the data directory
leaves the files pending (never quarantined) with a line saying what to do; the next run, once
there is room, archives them.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from app import pipeline
from app.indexing import feed_of, update_index
from app.services import Services
from archive.model import InputFileRow
from ingest.batches import is_text_name
from ingest.errors import DiskFull, TransientError, is_disk_full

__all__ = ["ATTEMPTS", "IngestReport", "ingest_paths", "process_with_retries"]

log = logging.getLogger(__name__)

#: How often a transient failure (the engine could not run) is retried before giving up.
ATTEMPTS = 3
#: Seconds an input waits for another process that holds its group (a service on the same data).
GROUP_WAIT_S = 1800.0

#: Called once per file when it has an outcome (or gave up pending), with a problem line or None.
Progress = Callable[[InputFileRow, str | None], None]


@dataclass(frozen=True)
class IngestReport:
    files: list[InputFileRow]
    #: problems a person should read: transient failures, an index that was not updated
    problems: list[str] = field(default_factory=list)
    #: files that could not even be recorded (no room for their copy, a busy catalog), with the
    #: reason: they were left where they are and count as pending (the next run takes them)
    unrecorded: list[tuple[Path, str]] = field(default_factory=list)
    #: paths that are not files to archive (no such file, a name that is not UTF-8), with the
    #: reason: nothing was recorded for them, and no later run would do better
    refused: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        counts: Counter[str] = Counter(r.outcome for r in self.files)
        if self.unrecorded:
            counts["pending"] += len(self.unrecorded)
        if self.refused:
            counts["refused"] += len(self.refused)
        return dict(counts)


def ingest_paths(
    services: Services,
    paths: Sequence[Path],
    *,
    on_total: Callable[[int, int], None] = lambda total, done: None,
    on_file: Progress = lambda row, problem: None,
) -> IngestReport:
    """Archive every file of ``paths``; ``on_total(files, already_done)`` once they are recorded,
    then ``on_file`` as each one gets its outcome.

    A transient failure (a full disk, a busy catalog) never stops the run: the file stays pending
    (or unrecorded, where it is) with a problem line, and the next run finishes it. After a
    ``DiskFull`` the files not started yet are left pending without being tried.
    """
    pending: list[str] = []
    refused = _refusals(paths)
    wanted = [p for p in paths if not _refusals([p])]
    if wanted:
        services.check_processing()
    rows, unrecorded, inside = _record_all(services, wanted, pending.append)
    refused += inside
    on_total(len(rows) + len(unrecorded), len(rows) - len(pending))
    problems = [problem for _, problem in unrecorded]
    full: list[DiskFull] = []
    with ThreadPoolExecutor(max_workers=services.settings.worker_threads) as pool:
        futures = [pool.submit(_process_unless_full, i, services, full) for i in pending]
        for fut in as_completed(futures):
            row, problem = fut.result()
            rows[row.id] = row
            if problem:
                problems.append(problem)
            on_file(row, problem or (f"{row.path}: {row.reason}" if row.outcome == "quarantined" else None))
    index_problem = _update_index(services)
    if index_problem:
        problems.append(index_problem)
    final = [_current(services, i) or r for i, r in rows.items()]
    return IngestReport(final, problems, unrecorded, refused)


NOT_TEXT = "the name is not UTF-8 text (written in another code page?): rename the file"


def _refusals(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """The arguments that are not files or folders to archive, with the reason."""
    out = []
    for path in paths:
        if not is_text_name(path):
            out.append((path, NOT_TEXT))
        elif path.is_symlink() and not path.exists():
            out.append((path, "a symbolic link to nothing"))
        elif not path.exists():
            out.append((path, "no such file or folder"))
    return out


def shown(path: Path) -> str:
    """``path`` as a line of text can hold it: bytes that are not UTF-8 as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _update_index(services: Services) -> str | None:
    """Bring the search index up to date now; a problem line when it could not be (it catches up
    later: the outbox keeps every change)."""
    try:
        update_index(services.catalog, services.open_index, services.tz, feed_of(services).exclusive)
    except TransientError as e:
        return f"the search index was not updated now ({e}); it catches up later"
    except OSError as e:
        # The embedded index's own files: search/tantivy_index.py does not name ENOSPC yet.
        if not is_disk_full(e):
            raise
        full = DiskFull(services.settings.data_dir, stage="index")
        return f"the search index was not updated now ({full}); it catches up later"
    return None


def _record_all(
    services: Services, paths: Sequence[Path], enqueue: Callable[[str], object]
) -> tuple[dict[str, InputFileRow], list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Record every file as a batch input (storing its copy); the rows, the files that could
    not be recorded with their problem line (a transient failure: they stay where they are),
    and the files inside folders whose names are not UTF-8 (refused; the others go on)."""
    rows: dict[str, InputFileRow] = {}
    unrecorded: list[tuple[Path, str]] = []
    refused: list[tuple[Path, str]] = []
    for root, all_files in pipeline.files_of(paths):
        files = [f for f in all_files if is_text_name(f)]
        refused += [(f, NOT_TEXT) for f in all_files if not is_text_name(f)]
        try:
            batch_id = services.catalog.open_batch(f"{pipeline.CLI_PREFIX}{root.resolve()}", root.name)
        except TransientError as e:
            unrecorded.extend((path, f"{path}: {e}") for path in files)
            continue
        for path in files:
            try:
                row = pipeline.intake_file(path.resolve(), batch_id, services, enqueue)
            except TransientError as e:
                log.info("%s was not recorded: %s", path, e)
                unrecorded.append((path, f"{path}: {e}"))
                continue
            rows[row.id] = row
    return rows, unrecorded, refused


def _current(services: Services, input_id: str) -> InputFileRow | None:
    """The input's row now; None when the catalog cannot be read (the caller keeps what it has)."""
    try:
        return services.catalog.get_input(input_id)
    except TransientError:
        return None


def _process_unless_full(input_id: str, services: Services, full: list[DiskFull]) -> tuple[InputFileRow, str | None]:
    """``process_with_retries``, unless a disk was found full in this run: then the input is left
    pending without trying (it would fail the same way, after recognising its pages)."""
    if full:
        row = services.catalog.get_input(input_id)
        assert row is not None
        return row, f"{row.path}: {DiskFull(services.settings.data_dir, stage=full[0].stage)}"
    return process_with_retries(input_id, services, disk_full=full.append)


def process_with_retries(
    input_id: str, services: Services, *, disk_full: Callable[[DiskFull], object] = lambda e: None
) -> tuple[InputFileRow, str | None]:
    """Process one input, retrying transient failures; the row, and a problem line if it stays pending.

    A full disk is not retried (it stays full until someone frees space): ``disk_full`` hears of it.
    """
    waited = 0.0
    attempt = 1
    while True:
        try:
            return pipeline.process_input(input_id, services), None
        except pipeline.GroupBusy as e:
            # Another process (a running service) is on it: wait for it, then finalise.
            if waited >= GROUP_WAIT_S:
                row = _note(services, input_id, str(e))
                return row, f"{row.path}: {e}"
            pause = 1.0 if waited < 10 else 5.0
            time.sleep(pause)
            waited += pause
            continue
        except TransientError as e:
            log.info("attempt %d of %d for input %s: %s", attempt, ATTEMPTS, input_id, e)
            if isinstance(e, DiskFull):
                disk_full(e)
            if attempt == ATTEMPTS or isinstance(e, DiskFull):
                row = _note(services, input_id, str(e))
                return row, f"{row.path}: {e}"
            attempt += 1


def _note(services: Services, input_id: str, reason: str) -> InputFileRow:
    """The input, with why it is still pending noted in the ledger when the catalog can take it
    (on a full disk it may not: the reason is then only in this run's output)."""
    try:
        return services.catalog.note_transient(input_id, reason)
    except TransientError:
        row = services.catalog.get_input(input_id)
        assert row is not None
        return row
