"""How the Tesseract adapter names failures: by what the caller should do."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ocr.config import OcrConfig
from ocr.errors import EngineFailed, EngineMissing, UnreadablePage
from ocr.page import recognize_page
from ocr.tesseract import TesseractEngine
from tests import pages as P


def _fake_tesseract(tmp_path: Path, body: str) -> str:
    script = tmp_path / "tesseract"
    script.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def page() -> np.ndarray:
    return P.render_page(P.TEXTS["eng"], dpi=72)


def test_a_killed_tesseract_is_transient_and_the_page_can_be_retried(tmp_path: Path, page: np.ndarray) -> None:
    engine = TesseractEngine(_fake_tesseract(tmp_path, "kill -9 $$"))
    with pytest.raises(EngineFailed, match="killed"):
        engine.recognize(page, languages="eng", dpi=72, timeout=10)
    result = recognize_page(1, page, 72, OcrConfig(orientation="off"), engine)
    assert result.retry and "try again" in (result.error or "")


def test_a_tesseract_error_on_the_page_is_permanent(tmp_path: Path, page: np.ndarray) -> None:
    engine = TesseractEngine(_fake_tesseract(tmp_path, "echo 'Error in pixReadStream' >&2; exit 1"))
    with pytest.raises(UnreadablePage, match="pixReadStream"):
        engine.recognize(page, languages="eng", dpi=72, timeout=10)
    result = recognize_page(1, page, 72, OcrConfig(orientation="off"), engine)
    assert not result.retry and result.error and result.pdf  # the image is still kept as a PDF page


def test_missing_language_data_is_a_configuration_error(tmp_path: Path, page: np.ndarray) -> None:
    engine = TesseractEngine(_fake_tesseract(tmp_path, "echo 'Failed loading language xyz' >&2; exit 1"))
    with pytest.raises(EngineMissing):
        engine.recognize(page, languages="xyz", dpi=72, timeout=10)


def test_missing_tesseract_is_a_configuration_error(tmp_path: Path, page: np.ndarray) -> None:
    engine = TesseractEngine(str(tmp_path / "no-such-tesseract"))
    with pytest.raises(EngineMissing, match="not found"):
        engine.check_languages("eng")


def test_orientation_gives_no_answer_instead_of_failing(tmp_path: Path, page: np.ndarray) -> None:
    engine = TesseractEngine(_fake_tesseract(tmp_path, "echo 'Too few characters. Skipping this page' >&2; exit 1"))
    assert engine.orientation(page, dpi=72, timeout=10) is None


def test_tesseract_runs_with_one_openmp_thread_and_our_environment_is_left_alone(
    tmp_path: Path, page: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    monkeypatch.setenv("KT_TEST_MARKER", "inherited")
    script = _fake_tesseract(
        tmp_path,
        '[ "$OMP_THREAD_LIMIT" = 1 ] || { echo "OMP_THREAD_LIMIT=$OMP_THREAD_LIMIT" >&2; exit 1; }\n'
        'echo "$KT_TEST_MARKER" > "$2.txt"; : > "$2.hocr"; printf "%%PDF-1.4" > "$2.pdf"',
    )
    text = TesseractEngine(script).recognize(page, languages="eng", dpi=72, timeout=10)
    assert text.text == "inherited" and text.pdf == b"%PDF-1.4"
    assert "OMP_THREAD_LIMIT" not in os.environ
    explicit = TesseractEngine(script, env={"KT_TEST_MARKER": "given"}).recognize(page, languages="eng", dpi=72, timeout=10)
    assert explicit.text == "given"


def test_a_tesseract_run_over_the_time_limit_is_killed_and_the_page_fails(tmp_path: Path, page: np.ndarray) -> None:
    engine = TesseractEngine(_fake_tesseract(tmp_path, "exec sleep 60"))
    with pytest.raises(UnreadablePage, match="longer than 0.5 s"):
        engine.recognize(page, languages="eng", dpi=72, timeout=0.5)
