"""Deciding when a file has finished arriving: its size and mtime stopped changing a while ago.

A plain class with no threads and no locks; the watcher calls it under its own lock. Time comes
from an injected monotonic clock, so tests can drive it without sleeping.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: (size in bytes, modification time in ns) of a file as last seen.
Signature = tuple[int, int]
#: Slack for float clock arithmetic: 5.3 - 5.0 is a hair below 0.3.
_EPSILON = 1e-9


@dataclass
class _Entry:
    signature: Signature
    first_seen: float
    changed_at: float


def file_signature(path: Path) -> Signature | None:
    """(size, mtime_ns) of ``path`` without following a symlink, or None if it is gone."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_size, st.st_mtime_ns


class StabilityTracker:
    """Tracks files until their size and mtime have been unchanged for ``settle_seconds``."""

    def __init__(self, settle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        if settle_seconds <= 0:
            raise ValueError("settle_seconds must be positive")
        self.settle_seconds = settle_seconds
        self._clock = clock
        self._entries: dict[Path, _Entry] = {}

    def __contains__(self, path: object) -> bool:
        return path in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def paths(self) -> list[Path]:
        """Every tracked path, stable or not."""
        return list(self._entries)

    def signature(self, path: Path) -> Signature | None:
        """The (size, mtime_ns) last recorded for ``path``, or None if it is not tracked."""
        entry = self._entries.get(path)
        return entry.signature if entry is not None else None

    def first_seen(self, path: Path) -> float | None:
        """Clock time ``path`` was first observed, or None if it is not tracked."""
        entry = self._entries.get(path)
        return entry.first_seen if entry is not None else None

    def observe(self, path: Path, now: float | None = None) -> None:
        """Record the current size and mtime of ``path``; a change restarts its settle window.

        A path that no longer exists is forgotten.
        """
        now = self._clock() if now is None else now
        try:
            signature = file_signature(path)
        except OSError as e:  # an unreachable share: the next observation or rescan tries again
            log.debug("cannot stat %s: %s", path, e)
            return
        if signature is None:
            self.forget(path)
            return
        entry = self._entries.get(path)
        if entry is None:
            self._entries[path] = _Entry(signature, first_seen=now, changed_at=now)
        elif entry.signature != signature:
            entry.signature = signature
            entry.changed_at = now

    def ready(self, now: float | None = None) -> list[Path]:
        """Paths unchanged for ``settle_seconds`` since their last change, checked on disk now.

        Paths whose settle window has passed are stat'ed again: one that changed meanwhile (a
        write no event reported) starts a new window, and one that vanished is forgotten.
        """
        now = self._clock() if now is None else now
        stable: list[Path] = []
        for path, entry in list(self._entries.items()):
            if now - entry.changed_at < self.settle_seconds - _EPSILON:
                continue
            try:
                signature = file_signature(path)
            except OSError as e:  # cannot tell: do not call it stable, look again later
                log.debug("cannot stat %s: %s", path, e)
                entry.changed_at = now
                continue
            if signature is None:
                del self._entries[path]
            elif signature != entry.signature:
                entry.signature = signature
                entry.changed_at = now
            else:
                stable.append(path)
        return sorted(stable)

    def is_stable(self, path: Path, now: float | None = None) -> bool:
        """Whether ``path`` is tracked and its settle window has passed (no disk access)."""
        entry = self._entries.get(path)
        if entry is None:
            return False
        now = self._clock() if now is None else now
        return now - entry.changed_at >= self.settle_seconds - _EPSILON

    def forget(self, path: Path) -> None:
        """Stop tracking ``path``; observing it again starts from scratch."""
        self._entries.pop(path, None)

    def forget_under(self, folder: Path) -> None:
        """Stop tracking ``folder`` and everything below it."""
        for path in [p for p in self._entries if p == folder or folder in p.parents]:
            del self._entries[path]
