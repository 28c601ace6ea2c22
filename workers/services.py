"""The collaborators every stage needs, built once per process from Settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from filelock import FileLock

from archive.blobs import FileBlobStore
from archive.catalog import Catalog
from archive.db import current_revision, head_revision, make_engine, upgrade
from ingest.profile import HotFolderProfile
from ocr.engine import OcrEngine
from ocr.engines import make_engine as make_ocr_engine
from ocr.run import workers
from workers.settings import Settings


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    blobs: FileBlobStore
    engine: OcrEngine
    profiles: dict[str, HotFolderProfile] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def lock_for(self, key: str) -> threading.Lock:
        """A lock per key (a batch id), so one process never works on a batch twice at once."""
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def profile_for(self, hotfolder: str) -> HotFolderProfile:
        """The profile of a batch's hot folder; CLI batches and unknown folders get the default."""
        found = self.profiles.get(hotfolder)
        if found is not None:
            return found
        return HotFolderProfile(path=Path(hotfolder), languages=self.settings.ocr.languages)

    @property
    def work_dir(self) -> Path:
        return self.settings.work_dir


def open_catalog(settings: Settings, *, migrate: bool = True) -> Catalog:
    """The catalog the settings name, migrated to the current schema if it is behind."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = make_engine(settings.catalog_url)
    # Only a catalog behind the code is migrated (upgrading takes the write lock, and a
    # `kartoteka ledger` run beside a busy service must not wait for it), and one process at a
    # time: two processes migrating a new SQLite catalog at once made one fail at once with
    # "database is locked" (SQLite does not wait when a reading transaction turns writer).
    if migrate and current_revision(db) != head_revision():
        with FileLock(str(settings.data_dir / ".migrate.lock")):
            if current_revision(db) != head_revision():
                upgrade(db)
    return Catalog(db, tz=ZoneInfo(settings.timezone))


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Open the catalog (migrating it to the current schema), the blob store and the engine."""
    catalog = open_catalog(settings, migrate=migrate)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    profiles = {str(p.path.resolve()): p for p in settings.profiles()}
    engine = make_ocr_engine(
        settings.ocr, max_parallel=workers(settings.ocr), languages=[p.languages for p in profiles.values()]
    )
    return Services(
        settings=settings,
        catalog=catalog,
        blobs=FileBlobStore(settings.blob_dir),
        engine=engine,
        profiles=profiles,
    )


_current: Services | None = None
_lock = threading.Lock()


def set_current(services: Services | None) -> None:
    """Install the process's Services (the entry point does this before any actor runs)."""
    global _current
    with _lock:
        _current = services


def current() -> Services:
    if _current is None:
        raise RuntimeError("services are not set up: call workers.services.set_current() at start-up")
    return _current
