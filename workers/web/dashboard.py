"""What the operator's dashboard shows: the hot folders, the batches in progress with their files
by outcome, throughput, and the recently quarantined files with their reason files and retries.

Batches and the ledger come from ``app.records`` (oldest first, cursor paging), so "recent" is
a window (the last hour of batches, a week of quarantined files) read from a cursor made for its
start; the quarantined files shown are the newest of that window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from app import records
from app.pipeline import NOT_IN_A_HOT_FOLDER, RETRY_PREFIX, batch_folder_name
from app.services import Services
from app.status import Status, status
from app.uploads import quarantined_file
from archive.blobs import sha256_file
from archive.cursors import batch_cursor, ledger_cursor
from archive.model import BatchSummary, InputFileRow
from ingest.profile import HotFolderProfile
from ingest.quarantine import REASON_SUFFIX, quarantine_folder

__all__ = ["BatchView", "HotFolderView", "Live", "QuarantinedView", "live", "quarantined"]

#: Batches done shown: those of this window with no file pending, newest first, at most FINISHED_SHOWN.
FINISHED_WINDOW = timedelta(hours=1)
FINISHED_SHOWN = 10
OPEN_SHOWN = 200
#: Quarantined files shown: the newest QUARANTINED_SHOWN of this window.
QUARANTINE_WINDOW = timedelta(days=7)
QUARANTINED_SHOWN = 30
#: Retry batches looked at to tell which quarantined files were retried already.
RETRY_BATCHES = 200
MAX_REASON_BYTES = 16 * 1024
#: The order of a progress bar's segments.
SEGMENTS = ("archived", "duplicate", "quarantined", "pending")


@dataclass(frozen=True)
class BatchView:
    batch: BatchSummary

    @property
    def segments(self) -> list[tuple[str, int, float]]:
        """(outcome, files, percent of the batch) for each outcome with files."""
        total = self.batch.total or 1
        return [(o, n, 100 * n / total) for o in SEGMENTS if (n := self.batch.counts.get(o, 0))]

    @property
    def done(self) -> int:
        return self.batch.total - self.batch.counts.get("pending", 0)


@dataclass(frozen=True)
class HotFolderView:
    #: None for the batches that come from no configured hot folder (uploads, the command line)
    profile: HotFolderProfile | None
    batches: list[BatchView]


@dataclass(frozen=True)
class Live:
    """The part of the dashboard that updates itself."""

    status: Status
    folders: list[HotFolderView]
    finished: list[BatchView]


def live(services: Services) -> Live:
    """Batches in progress (open, with files pending) by hot folder; the batches of the last
    hour that are done (closed, or with nothing pending: a command-line batch stays open)."""
    now = services.catalog.now()
    opened = records.list_batches(services, open_only=True, limit=OPEN_SHOWN).batches
    running = [b for b in opened if b.counts.get("pending", 0)]
    recent = records.list_batches(services, after=batch_cursor(now - FINISHED_WINDOW, ""), limit=records.MAX_PAGE).batches
    done = sorted((b for b in recent if not b.counts.get("pending", 0)), key=lambda b: b.closed_at or b.created_at, reverse=True)
    return Live(status(services), _by_folder(services, running), [BatchView(b) for b in done[:FINISHED_SHOWN]])


def _by_folder(services: Services, batches: list[BatchSummary]) -> list[HotFolderView]:
    """Every hot folder with its batches (uploads and retries to it included), then the rest."""
    profiles = services.profiles
    grouped: dict[str | None, list[BatchView]] = {key: [] for key in profiles}
    grouped[None] = []
    for batch in batches:
        key = batch.hotfolder
        while key.startswith(("retry:", "api:")):
            key = key.split(":", 1)[1]
        grouped[key if key in profiles else None].append(BatchView(batch))
    views = [HotFolderView(profile, grouped[key]) for key, profile in profiles.items()]
    return views + ([HotFolderView(None, grouped[None])] if grouped[None] else [])


@dataclass(frozen=True)
class QuarantinedView:
    row: InputFileRow
    #: the reason file beside the quarantined original, if it is there, and what it says
    reason_file: Path | None
    reason_text: str | None
    #: a file under its name that is not the original waits in the quarantine folder: a retry
    #: takes it (else the stored original)
    replacement: bool
    #: the newest retry of this file, if it was retried
    retried: InputFileRow | None


def quarantined(services: Services) -> list[QuarantinedView]:
    """The newest quarantined files of the window, newest first."""
    since = services.catalog.now() - QUARANTINE_WINDOW
    rows: deque[InputFileRow] = deque(maxlen=QUARANTINED_SHOWN)
    cursor: str | None = ledger_cursor(since, "", "")
    while cursor is not None:
        page = records.list_ledger(services, outcome="quarantined", after=cursor, limit=records.MAX_PAGE)
        rows.extend(page.entries)
        cursor = page.next_cursor
    roots = {row.batch_id: services.catalog.batch_hotfolder(row.batch_id) for row in rows}
    retries = _retries(services, since, set(roots.values()))
    views = []
    for row in reversed(rows):
        reason = _reason_file(services, row, roots[row.batch_id])
        views.append(QuarantinedView(row, reason, _read(reason), _replaced(services, row), retries.get(row.id)))
    return views


def _replaced(services: Services, row: InputFileRow) -> bool:
    """Whether the file under ``row``'s name in the quarantine folder differs from the file the
    ledger recorded (its size, else its SHA-256): finalising moves the untouched original there,
    which is no replacement."""
    found = quarantined_file(services, row)
    if found is None:
        return False
    try:
        return found.stat().st_size != row.size or sha256_file(found) != row.sha256
    except OSError:
        return False


def _reason_file(services: Services, row: InputFileRow, root: str) -> Path | None:
    """Where finalising put the reason file of a hot folder's file (uploads and retries move
    no file, so they have none)."""
    if root.startswith(NOT_IN_A_HOT_FOLDER):
        return None
    folder = services.profile_for(root).quarantine or Path(root) / "quarantine"
    moved = quarantine_folder(folder, batch_folder_name(Path(row.path), Path(root))) / row.name
    reason = moved.with_name(moved.name + REASON_SUFFIX)
    return reason if reason.is_file() else None


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        with path.open("rb") as f:
            return f.read(MAX_REASON_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


def _retries(services: Services, since: datetime, roots: set[str]) -> dict[str, InputFileRow]:
    """The newest retry since ``since`` of each input of batches from ``roots``: the input's id →
    the retry's row. Retries of a batch from ``root`` are batches ``retry:<root>``, a retry's
    ledger path is ``retry:<root>/<input id>/<name>`` (``app.uploads``)."""
    found: dict[str, InputFileRow] = {}
    for key in {root if root.startswith(RETRY_PREFIX) else RETRY_PREFIX + root for root in roots}:
        after = batch_cursor(since, "")
        batches = records.list_batches(services, hotfolder=key, after=after, limit=records.MAX_PAGE).batches
        for batch in batches[-RETRY_BATCHES:]:
            for row in records.list_ledger(services, batch=batch.id).entries:
                found[Path(row.path).parent.name] = row
    return found
