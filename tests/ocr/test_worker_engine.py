"""Tesseract in long-lived worker processes: in-process speed, process isolation."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from ocr.config import OcrConfig
from ocr.engines import make_engine
from ocr.errors import EngineFailed, UnreadablePage
from ocr.run import recognize_files
from ocr.tesserocr_engine import find_tessdata
from ocr.worker_engine import WorkerEngine
from tests import pages as P
from tests.cer import cer

pytestmark = pytest.mark.tesseract


@pytest.fixture(scope="module")
def workers():  # type: ignore[no-untyped-def]
    engine = WorkerEngine(find_tessdata(), max_parallel=2)
    yield engine
    engine.close()


@pytest.mark.parametrize("lang", ["rus", "eng", "kaz"])
def test_pages_are_read_as_well_as_by_the_program(workers: WorkerEngine, lang: str) -> None:
    languages = "kaz+rus+eng" if lang == "kaz" else "rus+eng"
    text = workers.recognize(P.render_page(P.TEXTS[lang]), languages=languages, dpi=300, timeout=60)
    assert cer(P.TEXTS[lang], text.text) < 0.03
    assert text.words and text.hocr and text.pdf and text.pdf.startswith(b"%PDF")


def test_workers_are_reused_between_pages(workers: WorkerEngine) -> None:
    page = P.render_page(P.TEXTS["eng"], dpi=150)
    workers.recognize(page, languages="rus+eng", dpi=150, timeout=60)
    before = set(workers.worker_pids())
    workers.recognize(page, languages="rus+eng", dpi=150, timeout=60)
    assert before and set(workers.worker_pids()) == before


def _kill_the_next_worker_taken(engine: WorkerEngine) -> tuple[threading.Thread, list[int]]:
    """SIGKILL the idle worker the pool hands the next page to, as soon as it leaves the idle
    list (which one that is is the pool's business: whichever leaves is the one in use)."""
    idle = set(engine.worker_pids())
    assert idle, "start the workers first (preload)"
    killed: list[int] = []

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            taken = idle - set(engine.worker_pids())
            if taken:
                pid = taken.pop()
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.001)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher, killed


def test_a_crashing_worker_fails_its_page_and_is_replaced() -> None:
    engine = WorkerEngine(find_tessdata(), max_parallel=1)  # one worker: a replacement must be a new process
    try:
        engine.preload("rus+eng")
        (first,) = engine.worker_pids()
        watcher, killed = _kill_the_next_worker_taken(engine)
        with pytest.raises(UnreadablePage, match="crashed"):
            engine.recognize(P.render_page(P.TEXTS["rus"] * 4, points=9), languages="rus+eng", dpi=300, timeout=60)
        watcher.join(timeout=10)
        assert killed == [first]
        assert engine.worker_pids() == []  # the dead worker is not given back to the pool
        again = engine.recognize(P.render_page(P.TEXTS["eng"]), languages="rus+eng", dpi=300, timeout=60)
        assert "PURCHASE" in again.text
        (replacement,) = engine.worker_pids()
        assert replacement != first
    finally:
        engine.close()


def test_the_default_engine_is_the_worker_pool_and_a_crash_fails_only_its_page(tmp_path: Path) -> None:
    cfg = OcrConfig(jobs=1, orientation="off")  # one page at a time: the first page is the one killed
    engine = make_engine(cfg, max_parallel=1)
    assert isinstance(engine, WorkerEngine)
    try:
        engine.preload(cfg.languages)
        tiff = P.save_tiff([P.render_page(P.TEXTS[lang]) for lang in ("rus", "eng", "rus")], tmp_path / "three.tif")
        watcher, killed = _kill_the_next_worker_taken(engine)
        (result,) = recognize_files([tiff], cfg, engine)
        watcher.join(timeout=10)
        assert len(killed) == 1
        first, second, third = result.pages
        assert "crashed" in (first.error or "") and not first.retry  # the same page would crash again
        assert second.error is None and "PURCHASE" in second.text
        assert third.error is None and "ЗАПИСКА" in third.text
    finally:
        engine.close()


def test_a_page_over_the_time_limit_fails_alone(workers: WorkerEngine, tmp_path: Path) -> None:
    tiff = P.save_tiff([P.render_page(P.TEXTS["eng"])] * 2, tmp_path / "two.tif")
    (result,) = recognize_files([tiff], OcrConfig(page_timeout=0.01, orientation="off"), workers)
    assert all("longer than" in (p.error or "") for p in result.pages)


def test_orientation_matches_the_program(workers: WorkerEngine, engine) -> None:  # type: ignore[no-untyped-def]
    page = P.turn(P.render_page(P.TEXTS["rus"]), 90)
    mine = workers.orientation(page, dpi=300, timeout=60)
    theirs = engine.orientation(page, dpi=300, timeout=60)
    assert mine is not None and theirs is not None and mine.rotation == theirs.rotation == 270


def test_the_ocr_command_runs_on_worker_processes(kartoteka, tmp_path: Path) -> None:
    scan = P.image_pdf([P.render_page(P.TEXTS["eng"]), P.turn(P.render_page(P.TEXTS["rus"]), 180)], tmp_path / "s.pdf")
    proc = kartoteka("ocr", str(scan), "--json", env={"KARTOTEKA_OCR_ENGINE": "tesserocr-workers"})
    assert proc.returncode == 0, proc.stderr
    first, second = json.loads(proc.stdout)["files"][0]["pages"]
    assert "PURCHASE" in first["text"] and second["rotation"] == 180 and "ЗАПИСКА" in second["text"]


def test_a_stop_signal_to_the_process_group_does_not_cut_a_page_off() -> None:
    """Ctrl-C or a service manager signals every process of the group: the workers ignored
    nothing, died with the page, and the page was recorded as one that crashes Tesseract."""
    engine = WorkerEngine(find_tessdata(), max_parallel=1)
    try:
        engine.preload("rus+eng")
        (pid,) = engine.worker_pids()
        for sig in (signal.SIGTERM, signal.SIGINT):
            os.kill(pid, sig)
        text = engine.recognize(P.render_page(P.TEXTS["eng"]), languages="rus+eng", dpi=300, timeout=60)
        assert "PURCHASE" in text.text and engine.worker_pids() == [pid]  # the parent decides when it stops
    finally:
        engine.close()


def test_a_page_cut_off_by_close_fails_as_transient_and_the_engine_refuses_more() -> None:
    engine = WorkerEngine(find_tessdata(), max_parallel=1)
    engine.preload("rus+eng")
    (pid,) = engine.worker_pids()
    failures: list[BaseException] = []

    def read() -> None:
        try:
            engine.recognize(P.render_page(P.TEXTS["rus"] * 6, points=8), languages="rus+eng", dpi=300, timeout=60)
        except BaseException as e:  # noqa: BLE001 - the test looks at what came out
            failures.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 30
    while engine.worker_pids() and time.monotonic() < deadline:  # the page is in the worker
        time.sleep(0.005)
    engine.close()  # a stopping service cuts the page off
    reader.join(timeout=30)
    assert not reader.is_alive()
    (failure,) = failures
    assert isinstance(failure, EngineFailed) and "shutting down" in str(failure)  # pending, not quarantined
    with pytest.raises(OSError):
        os.kill(pid, 0)  # the busy worker is gone too
    with pytest.raises(EngineFailed):
        engine.recognize(P.render_page(P.TEXTS["eng"]), languages="rus+eng", dpi=300, timeout=60)


def test_a_caller_interrupted_while_its_page_runs_takes_the_worker_down_with_it() -> None:
    """Ctrl-C (or dramatiq's time limit) while a page ran left the worker on neither list,
    alive and deaf to the stop signals: close() could not reach it and exit waited for the page."""

    class Interrupted(Exception):
        pass

    def interrupt(_signum: int, _frame: object) -> None:
        raise Interrupted

    engine = WorkerEngine(find_tessdata(), max_parallel=1)
    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        engine.preload("rus+eng")
        (pid,) = engine.worker_pids()
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(Interrupted):
            engine.recognize(P.render_page(P.TEXTS["rus"] * 6, points=8), languages="rus+eng", dpi=300, timeout=60)
        with pytest.raises(OSError):
            os.kill(pid, 0)  # killed, not left running the page
        assert engine.worker_pids() == []
    finally:
        signal.signal(signal.SIGUSR1, previous)
        engine.close()
