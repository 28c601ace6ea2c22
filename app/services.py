"""The collaborators the operations need, built from Settings when first used, never before.

A read-only command (``kartoteka card``, ``ledger``, ``search``) opens the catalog or the index
and nothing else: the OCR engine, which checks Tesseract and its language packs, is built the
first time a page is recognised, so a broken Tesseract never breaks a catalog query. The
classifier (its kinds, its model, refreshed when another process retrains) lives here too, and
so does the retraining thread, which only an entry point starts (``start_retraining``) and
stops (``close``): library code starts no threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from app.settings import Settings, make_folder, setting_name
from ingest.errors import ConfigurationError, TransientError
from ingest.profile import HotFolderProfile
from search.service import open_index

# Each part imports its libraries when it is first built: `kartoteka search` never loads
# SQLAlchemy, OpenCV or the classifier's scikit-learn (0.6 s of imports it does not need).
if TYPE_CHECKING:
    from archive.blobs import BlobStore
    from archive.catalog import Catalog
    from classify.classifier import Classifier
    from ocr.engine import OcrEngine
    from search.backend import SearchIndex

__all__ = ["EngineFactory", "Services", "default_engine", "open_catalog"]

log = logging.getLogger(__name__)

T = TypeVar("T")
EngineFactory = Callable[[Settings], "OcrEngine"]


def default_engine(settings: Settings) -> OcrEngine:
    """The engine the settings name, checked to have every hot folder's languages."""
    from ocr.engines import make_engine as make_ocr_engine
    from ocr.run import workers

    languages = [p.languages for p in settings.profiles()]
    return make_ocr_engine(settings.ocr, max_parallel=workers(settings.ocr), languages=languages)


def open_catalog(settings: Settings, *, migrate: bool = True) -> Catalog:
    """The catalog the settings name, migrated to the current schema if it is behind."""
    from filelock import FileLock

    from archive.catalog import Catalog
    from archive.db import current_revision, head_revision, make_engine, upgrade

    make_folder(settings.data_dir, "data_dir")
    _check_sqlite_folder(settings.catalog_url)
    try:
        db = make_engine(settings.catalog_url)
    except ConfigurationError as e:  # a driver not installed, a port that is no number
        raise ConfigurationError(f"setting {setting_name('database_url')}: {e}") from e
    # Only a catalog behind the code is migrated (upgrading takes the write lock, and a
    # `kartoteka ledger` run beside a busy service must not wait for it), and one process at a
    # time: two processes migrating a new SQLite catalog at once made one fail at once with
    # "database is locked" (SQLite does not wait when a reading transaction turns writer).
    if migrate and current_revision(db) != head_revision():
        with FileLock(str(settings.data_dir / ".migrate.lock")):
            if current_revision(db) != head_revision():
                upgrade(db)
    return Catalog(db, tz=ZoneInfo(settings.timezone))


def _check_sqlite_folder(url: str) -> None:
    """A SQLite catalog's folder must be there: without it SQLite says only «unable to open
    database file», which read as a busy database (try again) when the setting is what is wrong."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    folder = Path(parsed.database).parent
    if not folder.is_dir():
        raise ConfigurationError(f"setting {setting_name('database_url')}: no folder {folder} for the SQLite catalog")


@dataclass
class Services:
    """Everything an operation may need, each part built on first use (thread-safe)."""

    settings: Settings
    engine_factory: EngineFactory = default_engine
    _parts: dict[str, object] = field(default_factory=dict, repr=False)
    #: set by ``stop_recognition``: the process is stopping
    stopping: bool = field(default=False, repr=False)
    _build_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)

    def _part(self, name: str, build: Callable[[], T]) -> T:
        with self._build_lock:
            if name not in self._parts:
                self._parts[name] = build()
            return self._parts[name]  # type: ignore[return-value]

    @property
    def catalog(self) -> Catalog:
        return self._part("catalog", lambda: open_catalog(self.settings))

    @property
    def blobs(self) -> BlobStore:
        from archive.blobs import FileBlobStore

        return self._part("blobs", lambda: FileBlobStore(self.settings.blob_dir))

    @property
    def engine(self) -> OcrEngine:
        return self._part("engine", lambda: self.engine_factory(self.settings))

    @property
    def classifier(self) -> Classifier:
        """The classifier: kinds loaded once, a newer model file swapped in when one appears."""
        found = self._part("classifier", self._new_classifier)
        found.refresh()
        return found

    def _new_classifier(self) -> Classifier:
        from classify.classifier import Classifier
        from classify.kinds import KindsFileError

        try:
            return Classifier(self.settings.classify, self.models_dir)
        except KindsFileError as e:
            if self.settings.classify.kinds_file is None:  # the starter set: no setting to name
                raise
            raise KindsFileError(f"setting {setting_name('classify', 'kinds_file')}: {e}", stage=e.stage) from e

    def check_processing(self) -> None:
        """Build what processing needs that a setting can break, so a ConfigurationError comes
        before any file is recorded: the classifier (the kinds file, the model) and the engine
        (Tesseract, the languages of every hot folder). A file recorded first, then stopped by a
        missing kinds file after its pages were read, stayed pending for good."""
        _ = self.classifier, self.engine

    @property
    def data_dir(self) -> Path:
        """The data directory, made on first use (ConfigurationError when it cannot be)."""
        return self._part("data_dir", lambda: make_folder(self.settings.data_dir, "data_dir"))

    def open_index(self) -> SearchIndex:
        """A new connection to the search index (the caller closes it)."""
        return open_index(self.settings.search_url, self.data_dir)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    @property
    def profiles(self) -> dict[str, HotFolderProfile]:
        """The configured hot folders by their resolved path."""
        return self._part("profiles", lambda: {str(p.path.resolve()): p for p in self.settings.profiles()})

    def profile_for(self, hotfolder: str) -> HotFolderProfile:
        """The profile of a batch's hot folder; CLI batches and unknown folders get the default.

        Uploads and retries (``api:<folder>``, ``retry:api:<folder>`` …) use the profile of the
        hot folder they name."""
        key = hotfolder
        while key.startswith(("retry:", "api:")):
            key = key.split(":", 1)[1]
        found = self.profiles.get(key)
        if found is not None:
            return found
        return HotFolderProfile(path=Path(hotfolder), languages=self.settings.ocr.languages)

    def lock_for(self, key: str) -> threading.Lock:
        """A lock per key (a batch id), so one process never works on a batch twice at once."""
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    @property
    def work_dir(self) -> Path:
        self.settings.work_dir.mkdir(parents=True, exist_ok=True)
        return self.settings.work_dir

    @property
    def models_dir(self) -> Path:
        return self.settings.data_dir / "models"

    # -- the background work an entry point starts and stops --------------------------------

    def start_retraining(self) -> None:
        """Retrain the kind model in a thread whenever enough cards were verified since the last
        training (checked every ``classify.reload_seconds``); ingestion goes on meanwhile."""
        thread = threading.Thread(target=self._retrain_loop, name="kind-model-training", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _retrain_loop(self) -> None:
        while not self._stop.wait(self.settings.classify.reload_seconds):
            try:
                classifier = self.classifier
                if classifier.retrain_due(self.catalog):
                    classifier.retrain(self.catalog)
            except TransientError as e:  # the catalog is away for a while: the current model stays
                log.warning("retraining the kind model waits: %s", e)
            except Exception:  # a bug: the current model stays
                log.exception("retraining the kind model failed; trying again later")

    def stop_recognition(self) -> None:
        """Cut off the recognitions in progress: the engine's pages fail as transient errors
        from now on (their files stay pending; ``stopping`` tells the pipeline not to count the
        cut against the file). Nothing is made if no engine was."""
        self.stopping = True
        close = getattr(self._parts.get("engine"), "close", None)
        if callable(close):
            close()

    def close(self) -> None:
        """Stop the background threads, release the engine's worker processes and the catalog's
        database connections."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        engine = self._parts.pop("engine", None)
        close = getattr(engine, "close", None)
        if callable(close):
            close()
        catalog = self._parts.pop("catalog", None)
        if catalog is not None:
            # Pooled connections closed now, not when collected: on PostgreSQL an open psycopg
            # connection collected later warns (ResourceWarning), and the suite makes warnings errors.
            catalog.engine.dispose()  # type: ignore[attr-defined]
