"""Tesseract kept loaded in worker processes: the speed of in-process, the safety of a process.

Each worker is a child process holding a TesserocrEngine (models loaded once, reused for every
page). A page goes to an idle worker over a pipe and its result comes back. If the worker
does not answer within the page's time limit (plus a grace period) it is killed and replaced:
the page fails with UnreadablePage, as with the tesseract program. If it dies on a page (a
crash in Tesseract), it is replaced too and the page fails for good: the same page would crash
the next worker. The service itself never goes down with it.

Stopping is the parent's decision: the workers ignore SIGINT and SIGTERM (Ctrl-C and a service
manager signal the whole process group), so a page being read when the service is told to stop
is not mistaken for a page that crashed Tesseract. ``close`` kills every worker, busy ones too;
a page cut off that way fails with EngineFailed (transient: its file stays pending and is read
at the next start), never with UnreadablePage.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.util  # registers its exit handler first: ours (below) runs before it
import signal
import threading
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import numpy as np

from ingest.errors import PipelineError
from ocr.engine import Orientation
from ocr.errors import PAGE_CRASHED, EngineFailed, UnreadablePage, page_timed_out
from ocr.model import PageText

log = logging.getLogger(__name__)

#: Seconds a worker gets beyond the page's own time limit before it is killed.
GRACE = 5.0
#: Seconds a new worker may take to start and load nothing yet (imports only).
START_TIMEOUT = 120.0


def _serve(conn: Connection, tessdata: str | None) -> None:  # runs in the worker process
    import cv2

    # The parent stops us (WorkerEngine.close); a signal to the process group must not cut a
    # page off before the parent has decided whether to wait for it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    from ocr.tesserocr_engine import TesserocrEngine

    cv2.setNumThreads(1)  # one page at a time here; the pages run in parallel across workers

    engine = TesserocrEngine(tessdata)
    conn.send(("ready", None))
    while True:
        try:
            method, kwargs = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        try:
            conn.send(("ok", getattr(engine, method)(**kwargs)))
        except PipelineError as e:
            conn.send(("error", e))


def _close_at_exit(ref: weakref.ReferenceType[WorkerEngine]) -> None:
    engine = ref()
    if engine is not None:
        engine.close()


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=10)
        self.conn.close()


class WorkerEngine:
    """OcrEngine whose recognitions run in a pool of long-lived worker processes."""

    name = "tesserocr-workers"

    def __init__(self, tessdata: str | None = None, max_parallel: int = 0) -> None:
        from ocr.tesserocr_engine import TesserocrEngine

        self._tessdata = tessdata
        self._local = TesserocrEngine(tessdata)  # for version, languages and checks only
        self._max = max_parallel if max_parallel > 0 else (multiprocessing.cpu_count() or 1)
        self._slots = threading.BoundedSemaphore(self._max)
        self._idle: list[_Worker] = []
        self._busy_workers: dict[int, _Worker] = {}  # by id(): the workers pages are in, for close()
        self._closed = False
        self._lock = threading.Lock()
        # spawn: forking a process that runs threads can copy a held lock into the child.
        self._ctx = multiprocessing.get_context("spawn")
        # At exit multiprocessing stops daemon children with SIGTERM and waits for them; ours
        # ignore it (see _serve), so a process that never called close() would wait for ever.
        atexit.register(_close_at_exit, weakref.ref(self))

    def version(self) -> str:
        return self._local.version()

    def languages(self) -> set[str]:
        return self._local.languages()

    def check_languages(self, languages: str) -> None:
        self._local.check_languages(languages)

    def recognize(self, image: np.ndarray, *, languages: str, dpi: int, timeout: float) -> PageText:
        result: PageText = self._call(
            "recognize", {"image": image, "languages": languages, "dpi": dpi, "timeout": timeout}, timeout
        )
        return result

    def orientation(self, image: np.ndarray, *, dpi: int, timeout: float) -> Orientation | None:
        try:
            found: Orientation | None = self._call("orientation", {"image": image, "dpi": dpi, "timeout": timeout}, timeout)
        except UnreadablePage as e:
            log.info("orientation detection gave no answer: %s", e)
            return None
        return found

    def preload(self, languages: str, count: int = 1) -> None:
        """Start up to ``count`` workers and load ``languages`` in each (a service does it once)."""
        with self._lock:
            workers, self._idle = self._idle, []
        while len(workers) < min(count, self._max):
            workers.append(self._start())
        try:
            for w in workers:
                w.conn.send(("preload", {"languages": languages}))
            for w in workers:
                w.conn.recv()
        finally:
            with self._lock:
                self._idle.extend(workers)

    def close(self) -> None:
        """Kill every worker, busy ones too; pages in them fail as transient (EngineFailed)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy_workers.values())
        for w in idle:
            w.kill()
        for w in busy:  # the thread waiting for its answer sees the pipe close and cleans up
            w.process.kill()

    def worker_pids(self) -> list[int]:
        """Process ids of the idle workers (for tests and diagnostics)."""
        with self._lock:
            return [w.process.pid or 0 for w in self._idle]

    def _call(self, method: str, kwargs: dict[str, Any], timeout: float) -> Any:
        with self._slots:
            worker = self._take()
            try:
                worker.conn.send((method, kwargs))
                if not worker.conn.poll(timeout + GRACE):
                    worker.kill()
                    self._raise_if_closed()
                    raise UnreadablePage(page_timed_out(timeout), stage="ocr")
                status, value = worker.conn.recv()
            except (EOFError, OSError, BrokenPipeError) as e:
                worker.kill()
                self._raise_if_closed()
                raise UnreadablePage(PAGE_CRASHED, stage="ocr") from e
            except BaseException:
                # Interrupted while the page runs (Ctrl-C, dramatiq's time limit): the worker
                # would go on with it unseen, on neither list, ignoring the stop signals.
                worker.kill()
                raise
            finally:
                with self._lock:
                    self._busy_workers.pop(id(worker), None)
            self._give_back(worker)
            if status == "error":
                raise value
            return value

    def _take(self) -> _Worker:
        self._raise_if_closed()
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = self._start()
        with self._lock:
            self._busy_workers[id(worker)] = worker
            closed = self._closed
        if closed:  # closed while this worker started: close() did not see it
            with self._lock:
                self._busy_workers.pop(id(worker), None)
            worker.kill()
            self._raise_if_closed()
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        worker.kill()

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise EngineFailed("recognition stopped: the service is shutting down (read again at the next start)", stage="ocr")

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_serve, args=(child, self._tessdata), daemon=True, name="ocr-worker")
        process.start()
        child.close()
        worker = _Worker(process, parent)
        if not parent.poll(START_TIMEOUT):
            worker.kill()
            raise EngineFailed("an OCR worker process did not start", stage="ocr")
        try:
            parent.recv()
        except EOFError as e:
            worker.kill()
            raise EngineFailed("an OCR worker process died while starting", stage="ocr") from e
        return worker
