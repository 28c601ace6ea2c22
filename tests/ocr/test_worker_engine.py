"""Tesseract in long-lived worker processes: in-process speed, process isolation."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from ocr.config import OcrConfig
from ocr.errors import UnreadablePage
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


def test_a_crashing_worker_fails_its_page_and_is_replaced(workers: WorkerEngine) -> None:
    page = P.render_page(P.TEXTS["rus"] * 4, points=9)
    workers.recognize(P.render_page("warm up", dpi=100), languages="rus+eng", dpi=100, timeout=60)
    (pid, *_) = workers.worker_pids()
    threading.Timer(0.3, lambda: os.kill(pid, signal.SIGKILL)).start()
    with pytest.raises(UnreadablePage, match="crashed"):
        workers.recognize(page, languages="rus+eng", dpi=300, timeout=60)
    again = workers.recognize(P.render_page(P.TEXTS["eng"]), languages="rus+eng", dpi=300, timeout=60)
    assert "PURCHASE" in again.text
    assert pid not in workers.worker_pids()


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
