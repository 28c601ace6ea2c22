"""Watching hot folders and offering each batch once its files have finished arriving.

Threads: watchdog's observer threads only record what changed (``StabilityTracker.observe``,
under the watcher's lock). Everything else runs in ``tick()``, which the caller's loop (or
``run()``) calls every ~0.25 s; ``on_ready`` is called from ``tick()``, outside the lock.

What is offered (a :class:`Candidate`):

* a file directly in the hot folder is a batch of one;
* a folder directly in the hot folder is one batch: its files, recursively, in natural order,
  offered once every one of them is stable (and, in marker mode, the marker file exists).

Each (path, size, mtime) is offered once. The caller moves or deletes the file once its outcome
is committed; the watcher then forgets it. A file that stays and changes is offered again, and
so is a file that comes back after it was removed. A batch folder that gains files after it was
offered is offered again with the new files only. Symlinks and other non-regular entries are
offered as files, never followed: the caller decides (normally: quarantine).

Paths in candidates are under the hot folder's resolved path (symlinks in it resolved once).

A full rescan runs at the first tick and every ``rescan_seconds``, so a missed notification
(network shares, overflowing inotify queues, files present before start) never strands a file.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from ingest.batches import (
    has_marker,
    is_ignored,
    is_ignored_below,
    is_text_name,
    list_batch_files,
    natural_key,
    rename_to_text,
)
from ingest.errors import ConfigurationError, TransientError
from ingest.profile import HotFolderProfile
from ingest.stability import Signature, StabilityTracker, file_signature

__all__ = [
    "NETWORK_FILESYSTEMS",
    "Candidate",
    "HotFolderWatcher",
    "filesystem_type",
    "is_ignored",
    "needs_polling",
]

log = logging.getLogger(__name__)

#: Filesystem types (as in /proc/self/mounts) whose changes made elsewhere inotify never sees.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smbfs", "smb2", "smb3", "ncpfs", "afs", "coda", "9p",
        "ceph", "glusterfs", "lustre", "gpfs", "beegfs", "davfs", "vboxsf", "vmhgfs", "virtiofs", "drvfs",
        "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "fuse.ceph", "fuse.glusterfs", "fuse.davfs2",
        "fuse.vmhgfs-fuse", "fuse.gvfsd-fuse", "fuse.juicefs", "fuse.smbnetfs",
    }
)  # fmt: skip
MOUNTS_FILE = Path("/proc/self/mounts")
#: Default seconds between readiness checks in run().
TICK_SECONDS = 0.25

_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileAttribEvent, FileClosedEvent, FileMovedEvent, FileDeletedEvent,
    DirCreatedEvent, DirMovedEvent, DirDeletedEvent,
]  # fmt: skip
_OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")


# --- network shares ---------------------------------------------------------------------------


def _unescape_mount_field(field_: bytes) -> str:
    return os.fsdecode(_OCTAL_ESCAPE.sub(lambda m: bytes([int(m.group(1), 8)]), field_))


def _parse_mounts(data: bytes) -> list[tuple[Path, str]]:
    mounts: list[tuple[Path, str]] = []
    for line in data.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((Path(_unescape_mount_field(fields[1])), os.fsdecode(fields[2])))
    return mounts


def filesystem_type(path: Path, *, mounts_file: Path = MOUNTS_FILE) -> str | None:
    """Type of the filesystem holding ``path`` (symlinks resolved), or None if unknown.

    The longest mount point that contains the path wins; of equal ones, the last mounted.
    """
    try:
        data = mounts_file.read_bytes()
    except OSError:
        return None
    resolved = Path(os.path.realpath(path))
    best: tuple[int, str] | None = None
    for mount_point, fs_type in _parse_mounts(data):
        if resolved == mount_point or mount_point in resolved.parents:
            depth = len(mount_point.parts)
            if best is None or depth >= best[0]:
                best = (depth, fs_type)
    return best[1] if best is not None else None


def needs_polling(path: Path, *, mounts_file: Path = MOUNTS_FILE) -> bool:
    """Whether ``path`` is on a network filesystem, where OS change notifications miss changes."""
    fs_type = filesystem_type(path, mounts_file=mounts_file)
    return fs_type is not None and fs_type.casefold() in NETWORK_FILESYSTEMS


# --- what is offered --------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A batch whose files have finished arriving.

    ``batch_root`` is the file itself for a loose file, or the batch folder. ``files`` are the
    files not offered before in their current state, in natural order.
    """

    profile: HotFolderProfile
    batch_root: Path
    files: tuple[Path, ...]
    batch_name: str

    @property
    def is_folder(self) -> bool:
        """Whether the batch is a folder (not a single loose file)."""
        return self.files != (self.batch_root,)


@dataclass
class _Folder:
    """Everything the watcher knows about one hot folder."""

    profile: HotFolderProfile
    root: Path
    tracker: StabilityTracker
    offered: dict[Path, Signature] = field(default_factory=dict)
    dirty: set[Path] = field(default_factory=set)
    next_rescan: float = -math.inf
    observer: BaseObserver | None = None
    polling: bool = False


class _Handler(FileSystemEventHandler):
    def __init__(self, callback: Callable[[FileSystemEvent], None]) -> None:
        self._callback = callback

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._callback(event)


def _check_distinct(roots: Sequence[Path]) -> None:
    for i, root in enumerate(roots):
        for other in roots[i + 1 :]:
            if root == other or root in other.parents or other in root.parents:
                raise ConfigurationError(
                    f"hot folders {root} and {other} overlap: give each profile its own folder", stage="ingest"
                )


class HotFolderWatcher:
    """Watches hot folders and calls ``on_ready`` once per batch of settled files."""

    def __init__(
        self,
        profiles: Iterable[HotFolderProfile],
        on_ready: Callable[[Candidate], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        tick_seconds: float = TICK_SECONDS,
        mounts_file: Path = MOUNTS_FILE,
    ) -> None:
        self._on_ready = on_ready
        self._clock = clock
        self.tick_seconds = tick_seconds
        self._mounts_file = mounts_file
        self._lock = threading.RLock()
        self._folders = [
            # Resolved: inotify does not follow a symlinked hot folder, and events must match rescans.
            _Folder(p, Path(os.path.realpath(p.path)), StabilityTracker(p.settle_seconds, clock))
            for p in profiles
        ]
        _check_distinct([f.root for f in self._folders])

    # --- lifecycle ---

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start watching every hot folder (again after stop()).

        ConfigurationError if a hot folder is missing or cannot be watched; nothing is left running then.
        """
        with self._lock:
            for folder in self._folders:
                if not folder.root.is_dir():
                    raise ConfigurationError(
                        f"hot folder {folder.root} does not exist or is not a folder: create it or fix the profile",
                        stage="ingest",
                    )
            failure = self._start_observers()
        if failure is not None:  # stopped outside the lock: observer threads may be waiting for it
            self.stop()
            folder, error = failure
            raise ConfigurationError(
                f"cannot watch hot folder {folder.root}: {error.strerror or error}; check its permissions",
                stage="ingest",
            ) from error

    def _start_observers(self) -> tuple[_Folder, OSError] | None:
        for folder in self._folders:
            if folder.observer is None:
                try:
                    self._start_observer(folder)
                except OSError as e:
                    return folder, e
        return None

    def stop(self) -> None:
        """Stop every observer and wait for its threads."""
        with self._lock:
            observers = [f.observer for f in self._folders if f.observer is not None]
            for folder in self._folders:
                folder.observer = None
        for observer in observers:
            observer.stop()
        for observer in observers:
            if observer.is_alive():
                observer.join(timeout=10)

    def run(self, stop: threading.Event) -> None:
        """Watch and offer until ``stop`` is set."""
        self.start()
        try:
            while True:
                self.tick()
                if stop.wait(self.tick_seconds):
                    return
        finally:
            self.stop()

    def uses_polling(self, profile: HotFolderProfile) -> bool:
        """Whether the folder of ``profile`` is watched by polling (False before start())."""
        with self._lock:
            return any(f.polling and f.observer is not None for f in self._folders if f.profile == profile)

    # --- observers ---

    def _wants_polling(self, folder: _Folder) -> bool:
        if folder.profile.polling is not None:
            return folder.profile.polling
        return needs_polling(folder.root, mounts_file=self._mounts_file)

    def _new_observer(self, folder: _Folder, polling: bool) -> BaseObserver:
        if polling:
            interval = max(0.1, min(1.0, folder.profile.settle_seconds / 2))
            observer: BaseObserver = PollingObserverVFS(os.lstat, os.scandir, polling_interval=interval)
        else:
            observer = Observer()
        handler = _Handler(lambda event: self._on_event(folder, event))
        observer.schedule(handler, str(folder.root), recursive=True, event_filter=_EVENTS)
        return observer

    def _start_observer(self, folder: _Folder) -> None:
        polling = self._wants_polling(folder)
        observer = self._new_observer(folder, polling)
        try:
            observer.start()
        except OSError as e:
            if polling:
                raise
            log.warning("change notifications unavailable for %s (%s); polling it instead", folder.root, e)
            polling = True
            observer = self._new_observer(folder, polling)
            observer.start()
        folder.observer, folder.polling = observer, polling
        log.info("watching %s (%s)", folder.root, "polling" if polling else "notifications")

    def _ensure_observer(self, folder: _Folder) -> None:
        """Restart an observer whose folder vanished and came back (a share remounted)."""
        observer = folder.observer
        if observer is None:  # not started, or stopped: rescans only
            return
        healthy = observer.is_alive() and bool(observer.emitters) and all(e.is_alive() for e in observer.emitters)
        if healthy or not folder.root.is_dir():
            return
        log.warning("restarting the watch on %s", folder.root)
        observer.stop()
        try:
            self._start_observer(folder)
        except OSError as e:
            log.warning("cannot watch %s yet (%s); rescans continue", folder.root, e)

    # --- events (observer threads) ---

    def _on_event(self, folder: _Folder, event: FileSystemEvent) -> None:
        with self._lock:
            source = Path(os.fsdecode(event.src_path))
            if source == folder.root:
                if event.event_type in ("deleted", "moved"):  # the folder vanished, or a share dropped:
                    folder.tracker.forget_under(source)  # keep what was offered so a reconnect repeats nothing
                return
            if event.event_type in ("deleted", "moved"):
                self._forget(folder, source, subtree=event.is_directory)
            target = Path(os.fsdecode(event.dest_path)) if event.event_type == "moved" else source
            if event.event_type == "deleted" or is_ignored_below(folder.root, target, folder.profile):
                return
            if event.is_directory:
                if event.event_type in ("created", "moved"):
                    folder.dirty.add(target)
            else:
                folder.tracker.observe(target)

    @staticmethod
    def _forget(folder: _Folder, path: Path, *, subtree: bool) -> None:
        if subtree:
            folder.tracker.forget_under(path)
            for offered in [p for p in folder.offered if path in p.parents]:
                del folder.offered[offered]
        else:
            folder.tracker.forget(path)
            folder.offered.pop(path, None)

    # --- the loop ---

    def tick(self) -> list[Candidate]:
        """Rescan if due, then offer every batch that became ready; returns what was offered."""
        with self._lock:
            now = self._clock()
            candidates = [c for folder in self._folders for c in self._collect(folder, now)]
        delivered = []
        for candidate in candidates:
            if self._deliver(candidate):
                delivered.append(candidate)
        return delivered

    def _deliver(self, candidate: Candidate) -> bool:
        try:
            self._on_ready(candidate)
        except Exception as e:
            if isinstance(e, TransientError):  # a server away for a while: one line a rescan
                log.warning("batch %s waits (%s); it is offered again after the next rescan", candidate.batch_name, e)
            else:
                log.exception("handling batch %s failed; it is offered again after the next rescan", candidate.batch_name)
            with self._lock:
                folder = next(f for f in self._folders if f.profile is candidate.profile)
                for path in candidate.files:
                    folder.offered.pop(path, None)
            return False
        return True

    def _collect(self, folder: _Folder, now: float) -> list[Candidate]:
        if now >= folder.next_rescan:
            self._rescan(folder)
            folder.next_rescan = now + folder.profile.rescan_seconds
        self._scan_dirty(folder)
        stable = set(folder.tracker.ready(now))
        candidates: list[Candidate] = []
        for batch_root, tracked in sorted(self._groups(folder).items(), key=lambda kv: natural_key(kv[0].name)):
            if not all(path in stable for path in tracked):
                continue
            if self._renamed_to_text(folder, tracked):
                continue  # offered under the new names, once their events have settled
            if tracked == [batch_root]:
                candidate = self._loose_candidate(folder, batch_root)
            else:
                candidate = self._folder_candidate(folder, batch_root, stable)
            if candidate is not None:
                candidates.append(candidate)
                for path in candidate.files:
                    folder.offered[path] = self._tracked_signature(folder, path)
            self._drop_offered_from_tracker(folder, tracked)
        return candidates

    @staticmethod
    def _renamed_to_text(folder: _Folder, tracked: list[Path]) -> bool:
        """Rename the files and folders among ``tracked`` whose names are not UTF-8 (nothing
        after this could record them: they were offered again and failed on every rescan);
        whether any was renamed. A name that cannot be renamed is left, and logged."""
        bad = [path for path in tracked if not is_text_name(path)]
        if not bad:
            return False
        for path in bad:
            folder.tracker.forget(path)
        # One at a time: renaming a folder moves the other bad paths inside it (the next tick
        # sees them under its new name).
        new = rename_to_text(bad[0], folder.root)
        if new is None:
            return True  # logged; the next rescan tries again
        if new.is_dir():
            folder.dirty.add(new)
        else:
            folder.tracker.observe(new)
        return True

    @staticmethod
    def _tracked_signature(folder: _Folder, path: Path) -> Signature:
        signature = folder.tracker.signature(path)
        assert signature is not None  # offered files are tracked and stable
        return signature

    @staticmethod
    def _groups(folder: _Folder) -> dict[Path, list[Path]]:
        """Tracked paths by batch root (the first path component under the hot folder)."""
        groups: dict[Path, list[Path]] = {}
        for path in folder.tracker.paths():
            try:
                first = path.relative_to(folder.root).parts[0]
            except (ValueError, IndexError):
                folder.tracker.forget(path)
                continue
            groups.setdefault(folder.root / first, []).append(path)
        return groups

    @staticmethod
    def _drop_offered_from_tracker(folder: _Folder, paths: Iterable[Path]) -> None:
        """Stop stat'ing files already offered in their current state; events and rescans bring them back."""
        for path in paths:
            signature = folder.tracker.signature(path)
            if signature is not None and folder.offered.get(path) == signature:
                folder.tracker.forget(path)

    @staticmethod
    def _loose_candidate(folder: _Folder, path: Path) -> Candidate | None:
        if folder.offered.get(path) == folder.tracker.signature(path):
            return None
        return Candidate(folder.profile, path, (path,), path.name)

    def _folder_candidate(self, folder: _Folder, batch_root: Path, stable: set[Path]) -> Candidate | None:
        """The batch in ``batch_root`` if every file in it is stable (checked against a fresh listing)."""
        marker = folder.profile.marker
        if marker is not None and not has_marker(batch_root, marker):
            return None
        try:
            files = list_batch_files(batch_root, folder.profile)
        except OSError as e:
            log.debug("cannot list batch folder %s yet: %s", batch_root, e)
            return None
        fresh: list[Path] = []
        pending = False
        for path in files:
            if path in stable:
                if folder.offered.get(path) != folder.tracker.signature(path):
                    fresh.append(path)
            elif not self._offered_unchanged(folder, path):
                folder.tracker.observe(path)  # no event seen for it yet: give it a settle window
                pending = True
        if pending or not fresh:
            return None
        return Candidate(folder.profile, batch_root, tuple(fresh), batch_root.name)

    @staticmethod
    def _offered_unchanged(folder: _Folder, path: Path) -> bool:
        try:
            signature = file_signature(path)
        except OSError:
            return False
        return signature is None or folder.offered.get(path) == signature

    # --- scanning ---

    def _scan_dirty(self, folder: _Folder) -> None:
        """Observe the files of folders that appeared (their own events may have been missed)."""
        dirty, folder.dirty = folder.dirty, set()
        for directory in sorted(dirty):
            try:
                files = list_batch_files(directory, folder.profile)
            except OSError:
                continue  # gone again, or unreadable: the rescan reports it
            for path in files:
                if not is_ignored_below(folder.root, path, folder.profile):
                    self._observe_unless_offered(folder, path)

    def _observe_unless_offered(self, folder: _Folder, path: Path) -> bool:
        """Observe ``path`` unless it was offered in its current state; False if it is gone."""
        try:
            signature = file_signature(path)
        except OSError as e:
            log.debug("cannot stat %s: %s", path, e)
            return True
        if signature is None:
            return False
        if folder.offered.get(path) != signature:
            folder.tracker.observe(path)
        return True

    def _rescan(self, folder: _Folder) -> None:
        """Observe every file in the hot folder; forget offered files that are gone."""
        try:
            with os.scandir(folder.root) as entries:
                children = sorted(entries, key=lambda e: natural_key(e.name))
        except OSError as e:
            log.warning("cannot read hot folder %s: %s", folder.root, e)
            return
        present: set[Path] = set()
        unreadable: list[Path] = []
        for entry in children:
            path = Path(entry.path)
            if is_ignored(path, folder.profile):
                continue
            files = [path]
            if entry.is_dir(follow_symlinks=False):
                try:
                    files = list_batch_files(path, folder.profile)
                except OSError as e:
                    log.warning("cannot read batch folder %s: %s", path, e)
                    unreadable.append(path)
                    continue
            present.update(p for p in files if self._observe_unless_offered(folder, p))
        for path in [p for p in folder.offered if p not in present]:
            if not any(u == path or u in path.parents for u in unreadable):
                del folder.offered[path]
        self._ensure_observer(folder)
