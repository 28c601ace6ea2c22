"""Trained models on disk: versioned files written atomically, newest readable one wins.

``kinds-v000007.pkl`` is version 7. A new version is written to a temporary name, flushed,
fsynced and renamed, so a reader sees either the old file set or the new one, never half a
file; the previous versions stay (the last ``KEEP`` of them) and serve if the newest is
unreadable. Training takes ``models/.train.lock`` so two processes never write the same version.
The directory is the administrator's data directory: its files are trusted like the catalog.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import tempfile
from pathlib import Path

from classify.learned import KindModel

log = logging.getLogger(__name__)

FORMAT = 1
KEEP = 3
_NAME = re.compile(r"^kinds-v(\d{6})\.pkl$")


class ModelStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def lock_path(self) -> Path:
        return self.directory / ".train.lock"

    def versions(self) -> list[int]:
        """Versions on disk, newest first."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted((int(m.group(1)) for n in names if (m := _NAME.match(n))), reverse=True)

    def path(self, version: int) -> Path:
        return self.directory / f"kinds-v{version:06d}.pkl"

    def save(self, model: KindModel) -> int:
        """Write ``model`` as the next version; returns that version."""
        self.directory.mkdir(parents=True, exist_ok=True)
        version = (self.versions() or [0])[0] + 1
        model.version = version
        fd, tmp = tempfile.mkstemp(prefix=".kinds-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump({"format": FORMAT, "model": model}, fh, protocol=pickle.HIGHEST_PROTOCOL)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path(version))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._fsync_dir()
        for old in self.versions()[KEEP:]:
            self.path(old).unlink(missing_ok=True)
        log.info("saved kind model v%d (%d examples, kinds %s)", version, model.examples, ", ".join(model.kinds))
        return version

    def _fsync_dir(self) -> None:
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def load(self, version: int) -> KindModel:
        """One version; raises ValueError if the file is unreadable or not a model."""
        try:
            with self.path(version).open("rb") as fh:
                data = pickle.load(fh)  # noqa: S301 - our own file under the data directory
        except Exception as e:  # a truncated or foreign file raises anything from pickle
            raise ValueError(f"model file {self.path(version)} is unreadable: {type(e).__name__}: {e}") from e
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("model"), KindModel):
            raise ValueError(f"model file {self.path(version)} is not a kind model of format {FORMAT}")
        model: KindModel = data["model"]
        model.version = version
        return model

    def load_newest(self, newer_than: int = 0) -> KindModel | None:
        """The newest readable version above ``newer_than``; unreadable ones are logged and skipped."""
        for version in self.versions():
            if version <= newer_than:
                return None
            try:
                return self.load(version)
            except ValueError as e:
                log.error("%s; using an older model or the rules", e)
        return None
