"""Ingest files or folders now (``kartoteka ingest``; the HTTP upload will take the same path).

Files given this way are archived like hot-folder files but never moved or deleted: a folder is
one batch of its files, a file a batch of one. ``ingest_paths`` returns when every file has an
outcome (or still pending after its retries: a transient failure), and brings the search index
up to date so what was ingested can be searched at once.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from app import pipeline
from app.indexing import update_index
from app.services import Services
from archive.model import InputFileRow
from ingest.errors import TransientError

__all__ = ["ATTEMPTS", "IngestReport", "ingest_paths", "process_with_retries"]

log = logging.getLogger(__name__)

#: How often a transient failure (the engine could not run) is retried before giving up.
ATTEMPTS = 3

#: Called once per file when it has an outcome (or gave up pending), with a problem line or None.
Progress = Callable[[InputFileRow, str | None], None]


@dataclass(frozen=True)
class IngestReport:
    files: list[InputFileRow]
    #: problems a person should read: transient failures, an index that was not updated
    problems: list[str] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return dict(Counter(r.outcome for r in self.files))


def ingest_paths(
    services: Services,
    paths: Sequence[Path],
    *,
    on_total: Callable[[int, int], None] = lambda total, done: None,
    on_file: Progress = lambda row, problem: None,
) -> IngestReport:
    """Archive every file of ``paths``; ``on_total(files, already_done)`` once they are recorded,
    then ``on_file`` as each one gets its outcome."""
    pending: list[str] = []
    rows: dict[str, InputFileRow] = {}
    for root, files in pipeline.files_of(paths):
        batch_id = services.catalog.open_batch(f"{pipeline.CLI_PREFIX}{root.resolve()}", root.name)
        for path in files:
            row = pipeline.intake_file(path.resolve(), batch_id, services, pending.append)
            rows[row.id] = row
    on_total(len(rows), len(rows) - len(pending))
    problems: list[str] = []
    with ThreadPoolExecutor(max_workers=services.settings.worker_threads) as pool:
        futures = [pool.submit(process_with_retries, i, services) for i in pending]
        for fut in as_completed(futures):
            row, problem = fut.result()
            rows[row.id] = row
            if problem:
                problems.append(problem)
            on_file(row, problem or (f"{row.path}: {row.reason}" if row.outcome == "quarantined" else None))
    try:
        update_index(services.catalog, services.open_index, services.tz)
    except TransientError as e:
        problems.append(f"the search index was not updated now ({e}); it catches up later")
    final = [services.catalog.get_input(i) or r for i, r in rows.items()]
    return IngestReport(final, problems)


def process_with_retries(input_id: str, services: Services) -> tuple[InputFileRow, str | None]:
    """Process one input, retrying transient failures; the row, and a problem line if it stays pending."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return pipeline.process_input(input_id, services), None
        except TransientError as e:
            log.info("attempt %d of %d for input %s: %s", attempt, ATTEMPTS, input_id, e)
            if attempt == ATTEMPTS:
                row = services.catalog.get_input(input_id)
                assert row is not None
                return row, f"{row.path}: {e}"
    raise AssertionError("unreachable")
