"""Recognise files: pages flow through a thread pool, one Tesseract process per core.

The main thread opens files and rasterises pages one at a time (PDFium is not thread-safe) and
never lets more than two pages per worker wait in memory, so a 300-page PDF needs no more memory
than a 3-page one. Workers compute; only this thread writes (OCRmyPDF's pattern). Results come
back file by file, in the order given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.errors import DiskFull, UnsupportedInput, is_disk_full
from ocr.config import OcrConfig
from ocr.engine import OcrEngine
from ocr.model import FileResult, PageResult
from ocr.page import recognize_page
from ocr.pdf import assemble
from ocr.sources import SourcePage, open_pages

log = logging.getLogger(__name__)

PageCallback = Callable[[Path, PageResult], None]


@dataclass
class _FileState:
    index: int
    path: Path
    media_type: str = ""
    error: str | None = None
    pages: dict[int, PageResult] = field(default_factory=dict)
    submitted: int = 0
    all_read: bool = False

    @property
    def done(self) -> bool:
        return self.all_read and len(self.pages) == self.submitted

    def result(self) -> FileResult:
        pages = tuple(self.pages[n] for n in sorted(self.pages))
        return FileResult(path=str(self.path), media_type=self.media_type, pages=pages, error=self.error)


def cores() -> int:
    """The cores this process may use (its CPU affinity: ``taskset`` or a container's cpuset)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def workers(cfg: OcrConfig) -> int:
    """Pages recognised at once: the setting, or one per core this process may use."""
    return cfg.jobs or cores()


def share_cores(pages_at_once: int) -> int:
    """Give OpenCV's thread pool in this process the cores left per page: ``cores() //
    pages_at_once``, at least 1; returns that number. Call it once at start-up, before any page.

    Pages already run in parallel (page threads, worker processes); OpenCV's own pool, one
    thread per core by default in every process, then oversubscribes the cores. Measured with
    two worker processes on two cores (bench/distributed_bench.py, CPU by role): each page took
    8 % more CPU than with one, and 2 processes did 1.61x the pages of 1 instead of the 1.93x
    the ``tesseract`` command alone reaches there; with one OpenCV thread per process, the same
    CPU per page in both. One page at a time on an idle machine keeps every core for OpenCV.
    """
    import cv2

    threads = max(1, cores() // max(1, pages_at_once))
    cv2.setNumThreads(threads)
    return threads


def recognize_files(
    paths: Iterable[Path],
    cfg: OcrConfig,
    engine: OcrEngine,
    *,
    spool: Path | None = None,
    on_page: PageCallback | None = None,
) -> Iterator[FileResult]:
    """Recognise every page of every file; yields one FileResult per path, in order.

    With ``spool``, each page's searchable-PDF page is written there (``PageResult.pdf_file``)
    instead of being kept in memory; without it the PDF pages are dropped. A bad file or page
    becomes an ``error`` in its result; only a ConfigurationError (Tesseract or a language pack
    missing) or a DiskFull (no room in ``spool``) stops the run.
    """
    jobs = workers(cfg)
    limit = 2 * jobs
    states: list[_FileState] = []
    inflight: dict[Future[PageResult], _FileState] = {}
    emitted = 0

    def finish(state: _FileState, page: PageResult) -> None:
        page = _spool(page, spool, state.index)
        state.pages[page.number] = page
        if on_page:
            on_page(state.path, page)

    def drain(block_until: int) -> None:
        while len(inflight) > block_until:
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            for fut in done:
                state = inflight.pop(fut)
                finish(state, fut.result())

    def ready() -> Iterator[FileResult]:
        nonlocal emitted
        while emitted < len(states) and states[emitted].done:
            yield states[emitted].result()
            emitted += 1

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="ocr") as pool:
        for index, path in enumerate(paths):
            state = _FileState(index=index, path=path)
            states.append(state)
            for source in _read(state, cfg):
                state.submitted += 1
                if source.image is None:
                    finish(state, _page_without_ocr(source))
                    continue
                drain(limit - 1)
                fut = pool.submit(recognize_page, source.number, source.image, source.dpi, cfg, engine, colour=source.colour)
                inflight[fut] = state
            state.all_read = True
            drain(limit - 1)
            yield from ready()
        drain(0)
        yield from ready()


def _read(state: _FileState, cfg: OcrConfig) -> Iterator[SourcePage]:
    """The file's pages; a file that cannot be read becomes the state's error."""
    try:
        kind, pages = open_pages(state.path, cfg)
        state.media_type = kind.media_type
        yield from pages
    except UnsupportedInput as e:
        state.error = str(e)
        log.info("%s: %s", state.path, e)


def _page_without_ocr(source: SourcePage) -> PageResult:
    if source.text is not None:
        return PageResult(number=source.number, text=source.text.strip(), confidence=1.0, source="text-layer", dpi=source.dpi)
    return PageResult(number=source.number, error=source.error or "page could not be read")


def _spool(page: PageResult, spool: Path | None, file_index: int) -> PageResult:
    if page.pdf is None:
        return page
    if spool is None:
        return replace(page, pdf=None)
    target = spool / f"{file_index:05d}-{page.number:05d}.pdf"
    try:
        target.write_bytes(page.pdf)
    except OSError as e:
        target.unlink(missing_ok=True)
        if is_disk_full(e):
            raise DiskFull(spool, stage="ocr") from e
        raise
    return replace(page, pdf=None, pdf_file=target)


def searchable_pdf(result: FileResult, out: Path) -> int:
    """Assemble the file's searchable PDF from its spooled pages; returns the page count."""
    return searchable_pdf_from([(Path(result.path), page) for page in result.pages], out)


def searchable_pdf_from(pages: Iterable[tuple[Path, PageResult]], out: Path) -> int:
    """Assemble a PDF from pages of one or more files, each given with the file it came from.

    OCR'd pages come from Tesseract's renderer, text-layer pages are the original PDF's own
    pages, pages that failed keep their image without text, blank pages are left out. A full
    disk under ``out`` raises ``DiskFull``.
    """
    parts: list[tuple[Path, int]] = []
    for source, page in pages:
        if page.pdf_file is not None:
            parts.append((page.pdf_file, 0))
        elif page.source == "text-layer":
            parts.append((source, page.number - 1))
    try:
        return assemble(parts, out)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFull(out.parent, stage="ocr") from e
        raise
