"""The Tesseract engine: the tesseract program, one process per page, one run for all outputs.

``tesseract page.png out -l rus+eng hocr txt pdf`` renders the hOCR (words, boxes,
confidences), the plain text and a searchable-PDF page from a single recognition. Each run gets
OMP_THREAD_LIMIT=1 in its own environment (this process's environment is left alone): we run
one page per core ourselves, and Debian's OpenMP build was 7.6x slower on two cores when its
threads competed with ours. The program is started here with ``subprocess`` rather than through
pytesseract, whose runner takes neither an environment nor a command per call (both are module
attributes there).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

from ingest import reasons
from ocr.engine import Orientation
from ocr.errors import EngineFailed, EngineMissing, UnreadablePage, page_timed_out
from ocr.hocr import parse_words
from ocr.model import PageText

log = logging.getLogger(__name__)

#: Set in every tesseract run's environment: one OpenMP thread (we parallelise by page).
RUN_ENVIRONMENT = {"OMP_THREAD_LIMIT": "1"}
#: Output extensions tesseract writes by a config (``--psm 0`` writes the .osd), not by name.
_IMPLIED_OUTPUTS = frozenset({"box", "osd", "tsv", "xml"})


class TesseractEngine:
    name = "tesseract"

    def __init__(self, cmd: str = "tesseract", max_parallel: int = 0, env: Mapping[str, str] | None = None) -> None:
        """``env``: the environment tesseract runs in (default: this process's), plus RUN_ENVIRONMENT."""
        self.cmd = cmd
        # Several documents may be recognised at once (worker threads), each with its own page
        # pool; this caps the Tesseract processes of the whole process at one per core.
        self._slots = threading.BoundedSemaphore(max_parallel) if max_parallel > 0 else None
        self._env = {**(os.environ if env is None else env), **RUN_ENVIRONMENT}

    def _check_installed(self) -> str:
        path = shutil.which(self.cmd)
        if not path:
            raise EngineMissing(
                f"tesseract not found ({self.cmd!r}): apt-get install tesseract-ocr "
                "tesseract-ocr-rus tesseract-ocr-kaz tesseract-ocr-eng tesseract-ocr-osd"
            )
        return path

    @functools.cache
    def version(self) -> str:
        out = subprocess.run([self._check_installed(), "--version"], capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).splitlines()
        return first[0].split()[-1] if first else "unknown"

    @functools.cache
    def languages(self) -> set[str]:
        out = subprocess.run(
            [self._check_installed(), "--list-langs"], capture_output=True, text=True, check=False
        )
        lines = (out.stdout + out.stderr).splitlines()
        return {ln.strip() for ln in lines[1:] if ln.strip() and " " not in ln.strip()}

    def check_languages(self, languages: str) -> None:
        missing = [lang for lang in languages.split("+") if lang not in self.languages()]
        if missing:
            pkgs = " ".join(f"tesseract-ocr-{m}" for m in missing)
            raise EngineMissing(f"Tesseract language pack missing: {'+'.join(missing)} (apt-get install {pkgs})")

    def recognize(self, image: np.ndarray, *, languages: str, dpi: int, timeout: float) -> PageText:
        with tempfile.TemporaryDirectory(prefix="kt-ocr-") as tmp:
            src = Path(tmp) / "page.png"
            _write_image(src, image)
            base = Path(tmp) / "out"
            config = ["--dpi", str(dpi), "-c", "tessedit_create_hocr=1", "-c", "tessedit_create_txt=1"]
            self._run(src, base, languages, config, "pdf", timeout)
            hocr = _read(base.with_suffix(".hocr"))
            text = _read(base.with_suffix(".txt"))
            pdf = base.with_suffix(".pdf").read_bytes()
        return PageText(text=_tidy(text), words=parse_words(hocr), hocr=hocr, pdf=pdf)

    def orientation(self, image: np.ndarray, *, dpi: int, timeout: float) -> Orientation | None:
        with tempfile.TemporaryDirectory(prefix="kt-osd-") as tmp:
            src = Path(tmp) / "page.png"
            _write_image(src, image)
            base = Path(tmp) / "out"
            try:
                self._run(src, base, "osd", ["--dpi", str(dpi), "--psm", "0"], "osd", timeout)
            except UnreadablePage as e:
                log.info("orientation detection gave no answer: %s", e)
                return None  # a neutral answer, as OCRmyPDF does: recognition still runs
            report = _read(base.with_suffix(".osd"))
        rot = re.search(r"Rotate: (\d+)", report)
        conf = re.search(r"Orientation confidence: ([\d.]+)", report)
        if not rot:
            return None
        return Orientation(rotation=int(rot.group(1)) % 360, confidence=float(conf.group(1)) if conf else 0.0)

    def _run(self, src: Path, base: Path, lang: str, config: list[str], extension: str, timeout: float) -> None:
        with self._slots or contextlib.nullcontext():
            self._run_unguarded(src, base, lang, config, extension, timeout)

    def _run_unguarded(self, src: Path, base: Path, lang: str, config: list[str], extension: str, timeout: float) -> None:
        args = [self.cmd, str(src), str(base), "-l", lang, *config]
        if extension not in _IMPLIED_OUTPUTS:
            args.append(extension)
        try:
            # On a timeout subprocess.run kills tesseract and waits for it.
            proc = subprocess.run(
                args, stdin=subprocess.DEVNULL, capture_output=True, env=self._env, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as e:
            raise UnreadablePage(page_timed_out(timeout), stage="ocr") from e
        except FileNotFoundError as e:
            raise EngineMissing(f"tesseract not found ({self.cmd!r})") from e
        except OSError as e:
            raise EngineFailed(f"Tesseract could not be started: {e}", stage="ocr") from e
        if proc.returncode == 0:
            return
        message = " ".join(proc.stderr.decode("utf-8", errors="replace").split())[:200]
        if "Failed loading language" in message or "Error opening data file" in message:
            raise EngineMissing(f"Tesseract language data missing for {lang!r}: {message}")
        if proc.returncode < 0:
            # Killed by a signal (the OOM killer, an operator): not the page's fault.
            raise EngineFailed(f"Tesseract was killed (signal {-proc.returncode})", stage="ocr")
        raise UnreadablePage(reasons.PAGE_NOT_READ_BECAUSE % {"detail": message}, stage="ocr")


def _write_image(path: Path, image: np.ndarray) -> None:
    # PNG at the fastest compression: the file lives for one Tesseract run only. Uncompressed
    # PGM was tried: cheaper to write, but Tesseract read it ~0.1 s a page slower.
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise EngineFailed(f"could not write a page image to {path.parent}", stage="ocr")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _tidy(text: str) -> str:
    lines = [ln.rstrip() for ln in text.replace("\f", "").splitlines()]
    return "\n".join(lines).strip("\n")
