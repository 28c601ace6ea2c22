"""A content-addressed blob store on a filesystem, with fixity checks.

A blob lives at ``root/ab/cd/<sha256>`` where ``ab`` and ``cd`` are the first two pairs of hex
digits of its SHA-256. A write goes to a temporary file under ``root/.tmp`` (the same
filesystem), is flushed and fsynced, made read-only and renamed into place, and the directory is
fsynced, so a crash leaves either the whole blob or no blob (durability rule 5). A blob that is
already stored is never rewritten.

Callers see only the ``BlobStore`` protocol: streams in and out, no filesystem paths, so the
store can live elsewhere. A stage that needs a local file copies one out with ``copy_to``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from archive.errors import BlobNotFound, BlobStoreFull, BlobStoreUnavailable
from ingest.errors import DiskFull, is_disk_full

__all__ = ["BlobRef", "BlobStore", "FileBlobStore", "copy_to", "sha256_file"]

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TMP_DIR = ".tmp"


@dataclass(frozen=True)
class BlobRef:
    """A stored blob: its SHA-256 (lowercase hex) and size in bytes."""

    sha256: str
    size: int


class BlobStore(Protocol):
    """What the rest of the code needs from a blob store: content in, content out, by SHA-256.

    ``put`` reads the stream in chunks, hashing as it writes; ``open``, ``size`` raise
    ``BlobNotFound`` for a blob that is not stored; ``verify`` re-hashes a stored blob.
    """

    def put(self, stream: BinaryIO) -> BlobRef: ...

    def put_file(self, path: Path) -> BlobRef: ...

    def put_bytes(self, data: bytes) -> BlobRef: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def exists(self, sha256: str) -> bool: ...

    def verify(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int: ...


def copy_to(blobs: BlobStore, sha256: str, target: Path, *, chunk_size: int = CHUNK_SIZE) -> Path:
    """Stream a blob into the local file ``target`` (replacing it) and return ``target``.

    For stages that need a real file (OCR); the caller chooses where and removes it. A failed
    copy leaves no partial file behind; a full disk under ``target`` raises ``DiskFull``.
    """
    target = Path(target)
    with blobs.open(sha256) as source:
        try:
            with open(target, "wb") as out:
                shutil.copyfileobj(source, out, chunk_size)
        except OSError as e:
            target.unlink(missing_ok=True)
            if is_disk_full(e):
                raise DiskFull(target) from e
            raise
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return target


def _unavailable(what: str, path: Path, error: OSError) -> BlobStoreUnavailable:
    """The store's write failure named by what to do: ``BlobStoreFull`` for a full disk."""
    if is_disk_full(error):
        return BlobStoreFull(path)
    return BlobStoreUnavailable(f"{what}: {error}")


def sha256_file(path: Path, *, chunk_size: int = CHUNK_SIZE) -> str:
    """Return the SHA-256 of a file as lowercase hex, reading it in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(sha256: str) -> str:
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return sha256


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileBlobStore:
    """Blobs as read-only files under ``root``, named by their SHA-256."""

    def __init__(self, root: Path, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = Path(root)
        self._chunk_size = chunk_size

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    def _path(self, sha256: str) -> Path:
        """Where the blob with this checksum is (or would be) stored."""
        _check_sha256(sha256)
        return self.root / sha256[0:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading; raise ``BlobNotFound`` if it is not stored."""
        try:
            return open(self._path(sha256), "rb")
        except FileNotFoundError as e:
            raise BlobNotFound(f"blob {sha256} is not in the store at {self.root}") from e

    def size(self, sha256: str) -> int:
        """The size in bytes of a stored blob; raise ``BlobNotFound`` if it is not stored."""
        try:
            return self._path(sha256).stat().st_size
        except FileNotFoundError as e:
            raise BlobNotFound(f"blob {sha256} is not in the store at {self.root}") from e

    def put(self, stream: BinaryIO) -> BlobRef:
        """Store what ``stream`` yields, read in chunks and hashed as it is written; return its
        reference. The stream is read to its end and not closed."""
        try:
            tmp_dir = self.root / _TMP_DIR
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="put-", suffix=".part")
        except OSError as e:
            raise _unavailable(f"cannot write to the blob store at {self.root}", self.root, e) from e
        tmp = Path(tmp_name)
        try:
            ref = self._copy_and_hash(stream, fd, tmp)
            self._publish(tmp, ref.sha256)
            return ref
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, path: Path) -> BlobRef:
        """Store a file's content, streaming it; return its reference."""
        with open(path, "rb") as stream:
            return self.put(stream)

    def put_bytes(self, data: bytes) -> BlobRef:
        """Store bytes; return their reference."""
        return self.put(io.BytesIO(data))

    def verify(self, sha256: str) -> bool:
        """Re-hash a stored blob: True if it is present and its content matches its name.

        The caller reports a False (``kartoteka verify`` lists it); logged here at debug level
        only, where it said the same thing a second time, timestamped, even under ``--json``."""
        try:
            actual = sha256_file(self._path(sha256), chunk_size=self._chunk_size)
        except FileNotFoundError:
            log.debug("blob %s is missing from %s", sha256, self.root)
            return False
        if actual != sha256:
            log.debug("blob %s is corrupt: its content hashes to %s", sha256, actual)
            return False
        return True

    def iter_sha256(self) -> Iterator[str]:
        """Yield the checksum of every stored blob (for ``kartoteka verify``)."""
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if first.name == _TMP_DIR or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                for blob in sorted(second.iterdir()):
                    if _SHA256.fullmatch(blob.name):
                        yield blob.name

    def _copy_and_hash(self, stream: BinaryIO, fd: int, tmp: Path) -> BlobRef:
        digest = hashlib.sha256()
        size = 0
        out = os.fdopen(fd, "wb")
        try:
            while chunk := stream.read(self._chunk_size):
                digest.update(chunk)
                size += len(chunk)
                try:
                    out.write(chunk)
                except OSError as e:
                    raise _unavailable(f"cannot write blob to {tmp}", self.root, e) from e
            try:
                out.flush()
                os.fsync(out.fileno())
                os.chmod(tmp, 0o444)
            except OSError as e:
                raise _unavailable(f"cannot flush blob to {tmp}", self.root, e) from e
        except BaseException:
            # closing flushes what is still buffered, and fails again on a full disk: the first
            # error is the one to report
            with contextlib.suppress(OSError):
                out.close()
            raise
        out.close()  # flushed and synced above: nothing left to write
        return BlobRef(sha256=digest.hexdigest(), size=size)

    def _publish(self, tmp: Path, sha256: str) -> None:
        final = self._path(sha256)
        if final.is_file():
            log.debug("blob %s is already stored", sha256)
            return
        try:
            new_dirs = not final.parent.is_dir()
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            if new_dirs:  # make the new directory entries durable too
                _fsync_dir(final.parent.parent)
                _fsync_dir(self.root)
        except OSError as e:
            raise _unavailable(f"cannot store blob {sha256} at {final}", self.root, e) from e
        log.debug("stored blob %s", sha256)


if TYPE_CHECKING:

    def _file_store_is_a_blob_store(store: FileBlobStore) -> BlobStore:
        """Not run: mypy checks here that ``FileBlobStore`` satisfies ``BlobStore``."""
        return store
