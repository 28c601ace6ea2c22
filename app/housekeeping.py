"""Leftovers of processes that died in the middle of their work, removed by the recovery sweep.

Every step cleans up after itself in a ``finally``; a SIGKILL skips it. What stays behind, and
when it is taken for dead (nothing in it written for that long):

- ``work/uploads/<id>/``: an upload being received (``app.uploads``): an hour;
- ``work/<input id>/``: the scratch folder of a group being processed (``app.pipeline``): a day;
- ``blobs/.tmp/put-*.part``: a blob being written (``archive.blobs``): a day.

Lock files are pruned by ``pipeline.prune_locks`` (only while nobody holds them), and the
distributed mode's work areas (``work/areas``) stay until registered: they are work, not leftovers.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from app.services import Services

__all__ = ["SCRATCH_IDLE_S", "SPOOL_IDLE_S", "prune_leftovers", "remove_idle"]

SPOOL_IDLE_S = 3600.0
SCRATCH_IDLE_S = 24 * 3600.0
#: Folders of the work directory that are not scratch folders.
_NOT_SCRATCH = frozenset({"locks", "areas", "uploads"})


def _newest(path: Path) -> float:
    """The latest modification time of ``path`` and, for a folder, of anything in it."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for inner in path.rglob("*"):
            newest = max(newest, inner.lstat().st_mtime)
    return newest


def remove_idle(entries: Iterable[Path], idle_s: float) -> int:
    """Remove the files and folders of ``entries`` nothing in which was written for ``idle_s``
    seconds; how many went. One that changes or vanishes meanwhile is left to its owner."""
    cutoff = time.time() - idle_s
    removed = 0
    for entry in entries:
        try:
            if _newest(entry) >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed += 1
    return removed


def _children(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def prune_leftovers(services: Services) -> dict[str, int]:
    """Remove what dead processes left (see the module's list); how many of each went."""
    work = services.work_dir
    return {
        "upload spools": remove_idle(_children(work / "uploads"), SPOOL_IDLE_S),
        "scratch folders": remove_idle([p for p in _children(work) if p.is_dir() and p.name not in _NOT_SCRATCH], SCRATCH_IDLE_S),
        "partial blobs": remove_idle([p for p in _children(services.settings.blob_dir / ".tmp") if p.name.endswith(".part")], SCRATCH_IDLE_S),
    }
