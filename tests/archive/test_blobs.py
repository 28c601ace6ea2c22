from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from archive.blobs import BlobRef, FileBlobStore, sha256_file
from archive.errors import BlobNotFound

DATA = "Служебная записка № 17 / Қызметтік хат".encode() * 100


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs", chunk_size=64)


def test_put_bytes_stores_the_content_under_its_sha256(store: FileBlobStore) -> None:
    digest = hashlib.sha256(DATA).hexdigest()

    ref = store.put_bytes(DATA)

    assert ref == BlobRef(sha256=digest, size=len(DATA))
    assert store.path(digest) == store.root / digest[:2] / digest[2:4] / digest
    assert store.path(digest).read_bytes() == DATA
    assert store.exists(digest)
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
    assert store.path(ref.sha256).read_bytes() == DATA


def test_storing_the_same_content_twice_does_not_rewrite_the_blob(
    store: FileBlobStore, tmp_path: Path
) -> None:
    first = store.put_bytes(DATA)
    before = os.stat(store.path(first.sha256))
    source = tmp_path / "again.pdf"
    source.write_bytes(DATA)

    second = store.put_file(source)

    after = os.stat(store.path(second.sha256))
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

    mode = store.path(ref.sha256).stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_verify_detects_corruption_and_missing_blobs(store: FileBlobStore) -> None:
    ref = store.put_bytes(DATA)
    assert store.verify(ref.sha256) is True

    blob = store.path(ref.sha256)
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


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "g" * 64, "A" * 64, ""])
def test_names_that_are_not_sha256_are_refused(store: FileBlobStore, bad: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.path(bad)


def test_sha256_file_reads_files_larger_than_one_chunk(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(DATA)

    assert sha256_file(source, chunk_size=7) == hashlib.sha256(DATA).hexdigest()
