"""The work area between the recognition and the registration steps of the distributed mode.

The ``ocr`` queue's worker recognises a group of inputs and leaves what it found here, on the
data directory every host shares, keyed by the group's first input id; the ``archive`` queue's
worker (maybe on another host) reads it, registers the cards and deletes it.

Layout, under ``DATA_DIR/work/areas/<input id>/``::

    manifest.json        {"version": 1, "inputs": [ids recognised together],
                          "usable": [ids to register], "files": {id: "input-00000"},
                          "results": [FileResult: path, media_type, error, pages: [PageResult
                                      fields but the PDF bytes; pdf_file relative to the area]]}
    input-00000 ...      copies of the stored originals (text-layer pages come from them)
    00000-00001.pdf ...  the searchable-PDF page of each recognised page (ocr.run's spool)

A work area is written in ``.tmp-<id>-<random>/`` next to it and renamed into place once its
manifest is written and synced: an area that exists is complete, and a worker killed while
writing leaves only a ``.tmp-`` directory, removed by the next attempt (``discard_partial``).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import DiskFull, is_disk_full
from ocr.model import FileResult, PageResult, Word

__all__ = ["Area", "area_path", "commit", "complete", "delete", "discard_partial", "load", "writing"]

MANIFEST = "manifest.json"
VERSION = 1


@dataclass(frozen=True)
class Area:
    """A complete work area as read back: the recognised results with absolute file paths."""

    inputs: list[str]
    usable: list[str]
    files: dict[str, Path]
    results: list[FileResult]
    path: Path


def _root(work_dir: Path) -> Path:
    return work_dir / "areas"


def area_path(work_dir: Path, input_id: str) -> Path:
    return _root(work_dir) / input_id


def complete(work_dir: Path, input_id: str) -> bool:
    return (area_path(work_dir, input_id) / MANIFEST).is_file()


def delete(work_dir: Path, input_id: str) -> None:
    shutil.rmtree(area_path(work_dir, input_id), ignore_errors=True)


def discard_partial(work_dir: Path, input_id: str) -> None:
    """Remove half-written areas of ``input_id`` (call it holding the group's lock)."""
    root = _root(work_dir)
    for stale in root.glob(f".tmp-{input_id}-*") if root.is_dir() else []:
        shutil.rmtree(stale, ignore_errors=True)


def make_dir(path: Path, *, stage: str = "ocr") -> Path:
    """Create a folder of the work area; a full disk is DiskFull (the input stays pending)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFull(path, stage=stage) from e
        raise
    return path


@contextmanager
def writing(work_dir: Path, input_id: str) -> Iterator[Path]:
    """A fresh temporary directory to recognise into; removed on error (``commit`` renames it)."""
    tmp = make_dir(_root(work_dir) / f".tmp-{input_id}-{uuid.uuid4().hex}")
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def commit(
    tmp: Path, work_dir: Path, input_id: str, inputs: Sequence[str], usable: Sequence[str],
    files: dict[str, Path], results: Sequence[FileResult],
) -> Path:  # fmt: skip
    """Write the manifest into ``tmp``, sync it and rename ``tmp`` to the area of ``input_id``."""
    manifest = {
        "version": VERSION,
        "inputs": list(inputs),
        "usable": list(usable),
        "files": {k: _rel(v, tmp) for k, v in files.items()},
        "results": [_file_dict(r, tmp) for r in results],
    }
    data = json.dumps(manifest, ensure_ascii=False).encode()
    with (tmp / MANIFEST).open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    target = area_path(work_dir, input_id)
    if target.exists():  # an earlier attempt completed it (a redelivered message)
        return target
    os.rename(tmp, target)
    _fsync_dir(target.parent)
    return target


def load(work_dir: Path, input_id: str) -> Area | None:
    """The complete area of ``input_id``, or None when there is none."""
    path = area_path(work_dir, input_id)
    try:
        raw = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if raw.get("version") != VERSION:
        return None
    return Area(
        inputs=list(raw["inputs"]),
        usable=list(raw["usable"]),
        files={k: path / v for k, v in raw["files"].items()},
        results=[_file_from(d, path) for d in raw["results"]],
        path=path,
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rel(path: Path, base: Path) -> str:
    return str(path.relative_to(base))


def _file_dict(result: FileResult, base: Path) -> dict[str, Any]:
    return {
        "path": Path(result.path).name,
        "media_type": result.media_type,
        "error": result.error,
        "pages": [_page_dict(p, base) for p in result.pages],
    }


def _page_dict(page: PageResult, base: Path) -> dict[str, Any]:
    return {
        "number": page.number, "text": page.text, "confidence": page.confidence, "rotation": page.rotation,
        "skew": page.skew, "source": page.source, "blank": page.blank, "error": page.error, "retry": page.retry,
        "width": page.width, "height": page.height, "dpi": page.dpi,
        "words": [[w.text, list(w.box), w.confidence] for w in page.words],
        "hocr": page.hocr, "pdf_file": None if page.pdf_file is None else _rel(page.pdf_file, base),
        "codes": list(page.codes), "steps": list(page.steps),
    }  # fmt: skip


def _file_from(d: dict[str, Any], base: Path) -> FileResult:
    pages = tuple(_page_from(p, base) for p in d["pages"])
    return FileResult(path=str(base / d["path"]), media_type=d["media_type"], pages=pages, error=d["error"])


def _page_from(d: dict[str, Any], base: Path) -> PageResult:
    words = tuple(Word(t, (int(b[0]), int(b[1]), int(b[2]), int(b[3])), float(c)) for t, b, c in d["words"])
    return PageResult(
        number=d["number"], text=d["text"], confidence=d["confidence"], rotation=d["rotation"], skew=d["skew"],
        source=d["source"], blank=d["blank"], error=d["error"], retry=d["retry"], width=d["width"],
        height=d["height"], dpi=d["dpi"], words=words, hocr=d["hocr"],
        pdf_file=None if d["pdf_file"] is None else base / d["pdf_file"],
        codes=tuple(d["codes"]), steps=tuple(d["steps"]),
    )  # fmt: skip
