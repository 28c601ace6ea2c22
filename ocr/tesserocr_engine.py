"""Tesseract in-process through tesserocr: the models stay loaded from page to page.

The CLI engine (ocr/tesseract.py) starts a process and loads the models for every page. Here a
``PyTessBaseAPI`` per language set is loaded once and reused: an API serves one thread at a time
(they are not thread-safe), and idle ones wait in a pool. A pool rather than a thread-local: the
page threads of ``ocr.run.recognize_files`` live for one call only (one batch in the service), so
thread-local APIs would be loaded again for every batch.

One recognition per page gives everything the CLI's ``hocr txt pdf`` run gives:
``Recognize(timeout)`` then ``GetUTF8Text`` and ``GetHOCRText``; the searchable-PDF page is
written from the hOCR by ocr/textpdf.py, in the layout of Tesseract's own PDF renderer (the page
image with an invisible text layer in its GlyphLessFont, ``pdf.ttf`` from tessdata). tesserocr's
``ProcessPage``/``ProcessPages`` would run the renderers themselves, but they keep the GIL for
the whole recognition, so two page threads would take turns instead of using two cores
(``Recognize`` releases it); ``ProcessPage`` also leaves out the renderers' document start and
end (an hOCR fragment, a PDF without header or trailer).

Differences from the CLI engine: the wheel brings its own Tesseract (5.5) that reads the
system's traineddata; ``timeout`` bounds word recognition (Tesseract's deadline is checked word
by word, layout analysis before it is not interruptible), and orientation detection has no
timeout at all (it takes well under a second on a page).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ingest import reasons
from ocr.engine import Orientation
from ocr.errors import EngineFailed, EngineMissing, UnreadablePage, page_timed_out
from ocr.hocr import hocr_document, parse_words
from ocr.model import PageText
from ocr.textpdf import page_pdf

log = logging.getLogger(__name__)

#: Where Debian/Ubuntu, Fedora/Alpine and a source build put the language data.
KNOWN_TESSDATA = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
_LIST_LANGS_DIR = re.compile(r'"([^"]+)"')
OSD = "osd"
#: The searchable-PDF page's Producer.
PRODUCER = "kartoteka (Tesseract via tesserocr)"


def find_tessdata(cmd: str = "tesseract") -> str | None:
    """The folder with the traineddata: the one ``tesseract --list-langs`` names, else a known one."""
    exe = shutil.which(cmd)
    if exe:
        try:
            out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
            lines = (out.stdout + out.stderr).splitlines()
        except (OSError, subprocess.TimeoutExpired):
            lines = []
        # 'List of available languages in "/usr/share/tesseract-ocr/5/tessdata/" (4):'
        found = _LIST_LANGS_DIR.search(lines[0]) if lines else None
        if found and Path(found.group(1)).is_dir():
            return found.group(1)
    for d in KNOWN_TESSDATA:
        if any(Path(d).glob("*.traineddata")):
            return d
    return None


class TesserocrEngine:
    name = "tesserocr"

    def __init__(self, tessdata: str | None = None, max_parallel: int = 0) -> None:
        self._tessdata = tessdata
        # As in TesseractEngine: several documents may be recognised at once, each with its own
        # page pool; this caps the recognitions running in the whole process at one per core.
        self._slots = threading.BoundedSemaphore(max_parallel) if max_parallel > 0 else None
        self._idle: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    # --- set-up ---------------------------------------------------------------------------------

    @functools.cached_property
    def tessdata(self) -> str:
        path = self._tessdata or find_tessdata()
        if not path or not Path(path).is_dir():
            raise EngineMissing(
                f"Tesseract language data not found ({path or 'no tessdata folder'}): apt-get install "
                "tesseract-ocr-rus tesseract-ocr-kaz tesseract-ocr-eng tesseract-ocr-osd"
            )
        return path.rstrip("/") + "/"

    def _module(self) -> Any:
        try:
            import tesserocr
        except ImportError as e:
            raise EngineMissing("tesserocr is not installed: pip install tesserocr (or set ocr.engine = 'tesseract')") from e
        return tesserocr

    @functools.cache
    def version(self) -> str:
        return str(self._module().PyTessBaseAPI.Version())

    @functools.cache
    def languages(self) -> set[str]:
        return {p.name.removesuffix(".traineddata") for p in Path(self.tessdata).glob("*.traineddata")}

    def check_languages(self, languages: str) -> None:
        missing = [lang for lang in languages.split("+") if lang not in self.languages()]
        if missing:
            pkgs = " ".join(f"tesseract-ocr-{m}" for m in missing)
            raise EngineMissing(
                f"Tesseract language pack missing: {'+'.join(missing)} in {self.tessdata} (apt-get install {pkgs})"
            )

    def preload(self, languages: str, count: int = 1) -> None:
        """Have ``count`` idle APIs with ``languages`` loaded (at start-up, so the first pages
        wait for no model loading; about 0.05-0.1 s and 20-30 MiB each)."""
        with self._lock:
            missing = count - len(self._idle.get(languages, []))
        apis = [self._new_api(languages) for _ in range(missing)]
        with self._lock:
            self._idle.setdefault(languages, []).extend(apis)

    def close(self) -> None:
        """Free the idle models (APIs in use are freed when they come back)."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for apis in idle.values():
            for api in apis:
                api.End()

    def _new_api(self, lang: str) -> Any:
        t = self._module()
        psm = t.PSM.OSD_ONLY if lang == OSD else t.PSM.AUTO
        try:
            api = t.PyTessBaseAPI(path=self.tessdata, lang=lang, psm=psm)
        except RuntimeError as e:
            self.check_languages(lang)  # the usual cause, with the package to install
            raise EngineMissing(f"Tesseract could not load {lang!r} from {self.tessdata}: {e}") from e
        log.debug("loaded Tesseract %s models for %s", self.version(), lang)
        return api

    @contextlib.contextmanager
    def _api(self, lang: str) -> Iterator[Any]:
        """An API with ``lang`` loaded, for this thread alone until the block ends.

        It goes back to the pool when the block ends normally; after an error it is ended, and
        the next page loads a fresh one (a page that broke Tesseract leaves no state behind).
        """
        with self._lock:
            idle = self._idle.get(lang)
            api = idle.pop() if idle else None
        if api is None:
            api = self._new_api(lang)
        try:
            yield api
        except BaseException:
            api.End()
            raise
        api.Clear()  # drops the page's image and results, keeps the models
        with self._lock:
            self._idle.setdefault(lang, []).append(api)

    # --- the engine ---------------------------------------------------------------------------

    def recognize(self, image: np.ndarray, *, languages: str, dpi: int, timeout: float) -> PageText:
        gray = _gray(image)
        with self._slots or contextlib.nullcontext(), self._api(languages) as api:
            _set_image(api, gray, dpi)
            started = time.monotonic()
            try:
                # releases the GIL; the deadline is checked between words
                done = api.Recognize(max(1, math.ceil(timeout * 1000)))
            except MemoryError as e:
                raise EngineFailed("Tesseract ran out of memory", stage="ocr") from e
            if not done:
                if time.monotonic() - started >= timeout:
                    raise UnreadablePage(page_timed_out(timeout), stage="ocr")
                raise UnreadablePage(reasons.PAGE_NOT_READ, stage="ocr")
            try:
                text = api.GetUTF8Text()
                body = api.GetHOCRText(0)
            except RuntimeError as e:
                raise UnreadablePage(reasons.PAGE_NOT_READ_BECAUSE % {"detail": e}, stage="ocr") from e
        hocr = hocr_document(body, f"tesseract {self.version()}")
        pdf = page_pdf(gray, dpi, hocr, self._font(), producer=PRODUCER)
        return PageText(text=_tidy(text), words=parse_words(hocr), hocr=hocr, pdf=pdf)

    def orientation(self, image: np.ndarray, *, dpi: int, timeout: float) -> Orientation | None:
        """Tesseract OSD as ``tesseract --psm 0 -l osd`` runs it; ``timeout`` cannot be applied."""
        gray = _gray(image)
        with self._slots or contextlib.nullcontext(), self._api(OSD) as api:
            _set_image(api, gray, dpi)
            try:
                found = api.DetectOrientationScript()
            except RuntimeError as e:
                log.info("orientation detection gave no answer: %s", e)
                return None
        if not found:
            log.info("orientation detection gave no answer (too few characters?)")
            return None
        # orient_deg is how far the text is turned clockwise; the CLI's "Rotate:" (what
        # TesseractEngine reports) is the clockwise turn that makes the page upright.
        return Orientation(rotation=(360 - int(found["orient_deg"])) % 360, confidence=round(float(found["orient_conf"]), 2))

    @functools.cache
    def _font(self) -> bytes:
        path = Path(self.tessdata) / "pdf.ttf"
        if not path.exists():
            raise EngineMissing(f"{path} not found: the searchable PDF needs Tesseract's pdf.ttf (apt-get install tesseract-ocr)")
        return path.read_bytes()


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    if image.dtype != np.uint8:
        raise UnreadablePage(f"page image of type {image.dtype} cannot be recognised", stage="ocr")
    if image.ndim != 2 or not image.size:
        raise UnreadablePage("empty page image", stage="ocr")
    return np.ascontiguousarray(image)


def _set_image(api: Any, gray: np.ndarray, dpi: int) -> None:
    h, w = gray.shape
    try:
        api.SetImageBytes(gray.tobytes(), w, h, 1, w)
    except RuntimeError as e:
        raise UnreadablePage(f"Tesseract could not take this page image: {e}", stage="ocr") from e
    api.SetSourceResolution(dpi)  # as ``--dpi``


def _tidy(text: str) -> str:
    lines = [ln.rstrip() for ln in text.replace("\f", "").splitlines()]
    return "\n".join(lines).strip("\n")
