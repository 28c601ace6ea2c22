"""The packages type-check under mypy --strict and have no unused names (pyflakes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["ingest", "ocr", "classify", "archive", "search", "workers"]


def test_packages_type_check_strictly() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", *PACKAGES], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_no_unused_imports_or_names() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pyflakes", *[d for d in (*PACKAGES, "tests", "bench") if (ROOT / d).is_dir()]],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
