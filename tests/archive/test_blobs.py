from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from archive.blobs import BlobRef, BlobStore, FileBlobStore, copy_to, sha256_file
from archive.errors import BlobNotFound

DATA = "Служебная записка № 17 / Қызметтік хат".encode() * 100


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs", chunk_size=64)


def _file(store: FileBlobStore, sha256: str) -> Path:
    """Where the store keeps a blob on disk (the layout its docstring promises)."""
    return store.root / sha256[:2] / sha256[2:4] / sha256


class _Generated(io.RawIOBase):
    """A non-seekable stream of ``size`` pseudo-random bytes that remembers each read's size."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.reads: list[int] = []
        self.digest = hashlib.sha256()
        self._block = hashlib.sha512(b"seed").digest() * 64  # 4 KiB

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.reads.append(len(buffer))
        n = min(len(buffer), self.left)
        for start in range(0, n, len(self._block)):
            piece = self._block[: min(len(self._block), n - start)]
            buffer[start : start + len(piece)] = piece
        self.digest.update(bytes(buffer[:n]))
        self.left -= n
        return n


def test_put_bytes_stores_the_content_under_its_sha256(store: FileBlobStore) -> None:
    digest = hashlib.sha256(DATA).hexdigest()

    ref = store.put_bytes(DATA)

    assert ref == BlobRef(sha256=digest, size=len(DATA))
    assert _file(store, digest).read_bytes() == DATA
    assert store.exists(digest)
    assert store.size(digest) == len(DATA)
    with store.open(digest) as stream:
        assert stream.read() == DATA


def test_put_file_streams_in_chunks_and_matches_sha256_file(
    store: FileBlobStore, tmp_path: Path
) -> None:
    source = tmp_path / "scan.tif"
    source.write_bytes(DATA)  # many times the 64-byte chunk

    ref = store.put_file(source)

    assert ref.sha256 == sha256_file(source) == hashlib.sha256(DATA).hexdigest()
    assert ref.size == len(DATA)
    assert _file(store, ref.sha256).read_bytes() == DATA


def test_put_streams_a_large_stream_in_chunks_hashing_as_it_writes(tmp_path: Path) -> None:
    chunk = 64 * 1024
    store = FileBlobStore(tmp_path / "blobs", chunk_size=chunk)
    stream = _Generated(5 * 1024 * 1024 + 123)  # not a whole number of chunks

    ref = store.put(stream)  # type: ignore[arg-type]

    assert ref == BlobRef(sha256=stream.digest.hexdigest(), size=5 * 1024 * 1024 + 123)
    assert max(stream.reads) <= chunk and len(stream.reads) > 80  # never read whole
    assert store.size(ref.sha256) == ref.size
    assert store.verify(ref.sha256)
    with store.open(ref.sha256) as blob:
        assert hashlib.sha256(blob.read()).hexdigest() == ref.sha256


def test_put_reads_a_stream_from_where_it_stands_and_leaves_it_open(store: FileBlobStore) -> None:
    stream = io.BytesIO(b"header" + DATA)
    stream.read(6)

    ref = store.put(stream)

    assert ref.sha256 == hashlib.sha256(DATA).hexdigest()
    assert not stream.closed and stream.read() == b""


def test_copy_to_streams_a_blob_into_a_local_file(store: FileBlobStore, tmp_path: Path) -> None:
    ref = store.put_bytes(DATA)
    target = tmp_path / "work" / "scan.pdf"
    target.parent.mkdir()

    assert copy_to(store, ref.sha256, target) == target

    assert target.read_bytes() == DATA
    assert os.access(target, os.W_OK)  # the caller's own file, not the read-only blob
    missing = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(BlobNotFound):
        copy_to(store, missing, tmp_path / "work" / "missing.pdf")
    assert not (tmp_path / "work" / "missing.pdf").exists()


def test_the_blob_store_protocol_exposes_no_filesystem_path(store: FileBlobStore) -> None:
    members = {name for name in vars(BlobStore) if not name.startswith("_")}

    assert members == {"put", "put_file", "put_bytes", "open", "exists", "verify", "size"}
    assert not hasattr(store, "path")


def test_storing_the_same_content_twice_does_not_rewrite_the_blob(
    store: FileBlobStore, tmp_path: Path
) -> None:
    first = store.put_bytes(DATA)
    before = os.stat(_file(store, first.sha256))
    source = tmp_path / "again.pdf"
    source.write_bytes(DATA)

    second = store.put_file(source)

    after = os.stat(_file(store, second.sha256))
    assert second == first
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert list(store.iter_sha256()) == [first.sha256]


def test_different_content_gets_a_different_blob(store: FileBlobStore) -> None:
    a = store.put_bytes(b"a")
    b = store.put_bytes(b"b")

    assert a.sha256 != b.sha256
    assert sorted(store.iter_sha256()) == sorted([a.sha256, b.sha256])


def test_puts_leave_no_temporary_files(store: FileBlobStore) -> None:
    store.put_bytes(DATA)
    store.put_bytes(DATA)
    store.put_bytes(b"")

    assert list((store.root / ".tmp").iterdir()) == []


def test_stored_blobs_are_read_only(store: FileBlobStore) -> None:
    ref = store.put_bytes(DATA)

    mode = _file(store, ref.sha256).stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_verify_detects_corruption_and_missing_blobs(store: FileBlobStore) -> None:
    ref = store.put_bytes(DATA)
    assert store.verify(ref.sha256) is True

    blob = _file(store, ref.sha256)
    blob.chmod(0o644)
    blob.write_bytes(DATA[:-1] + b"!")
    assert store.verify(ref.sha256) is False

    blob.unlink()
    assert store.verify(ref.sha256) is False


def test_opening_a_missing_blob_raises_blob_not_found(store: FileBlobStore) -> None:
    missing = hashlib.sha256(b"never stored").hexdigest()

    assert not store.exists(missing)
    with pytest.raises(BlobNotFound, match=missing):
        store.open(missing)
    with pytest.raises(BlobNotFound, match=missing):
        store.size(missing)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "g" * 64, "A" * 64, ""])
def test_names_that_are_not_sha256_are_refused(store: FileBlobStore, bad: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.open(bad)
    with pytest.raises(ValueError, match="SHA-256"):
        store.exists(bad)


def test_sha256_file_reads_files_larger_than_one_chunk(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(DATA)

    assert sha256_file(source, chunk_size=7) == hashlib.sha256(DATA).hexdigest()
