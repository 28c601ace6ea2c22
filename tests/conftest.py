"""Shared fixtures. The real parts (Tesseract with rus, kaz, eng, osd) are required: a missing
one fails the tests with the command that installs it, it never skips them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ocr.config import OcrConfig
from ocr.tesseract import TesseractEngine
from tests.processes import EXE, clean_env

REQUIRED_LANGS = {"rus", "kaz", "eng", "osd"}


@pytest.fixture(scope="session")
def engine() -> TesseractEngine:
    if not shutil.which("tesseract"):
        pytest.fail("tesseract is not installed: run scripts/bootstrap.sh (apt-get install tesseract-ocr)")
    eng = TesseractEngine()
    missing = REQUIRED_LANGS - eng.languages()
    if missing:
        pytest.fail(f"Tesseract language packs missing: {sorted(missing)}: run scripts/bootstrap.sh")
    return eng


@pytest.fixture(scope="session")
def ocr_cfg() -> OcrConfig:
    return OcrConfig(languages="rus+eng")


@pytest.fixture
def kartoteka(tmp_path: Path):
    """Run the installed ``kartoteka`` command as a user would, with its own data directory."""
    exe = EXE if EXE.exists() else Path(shutil.which("kartoteka") or "kartoteka")

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *args],
            capture_output=True,
            text=True,
            env=clean_env(tmp_path / "data", **(env or {})),
            timeout=timeout,
            check=False,
        )

    return run
