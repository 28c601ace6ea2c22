"""A scripted OCR engine for tests: every page says, through a QR code printed on it, what to return.

Orchestration tests (separator sheets, duplicates, quarantine, review routing, crash recovery)
need pages whose recognition is known in advance, fast, and able to fail on cue. A test page
carries a QR code holding a **key** (``tests/scripted.py`` prints them); ``ScriptedEngine`` is
built with a mapping ``key -> PageScript`` and, for each page image it is given, decodes the QR
code with OpenCV's ``cv2.QRCodeDetector`` and answers with that key's script. A QR code survives
everything the page pipeline (``ocr/page.py``) does before recognition: border whitening,
deskew, turning, denoising and binarising, so the key still names the page after preprocessing.

The code also tells which way up the image is, as Tesseract's OSD would from the text: the QR
code is printed upright with the page, so ``orientation()`` reports the clockwise turn that
makes it upright, and a page recognised while it is not upright reads with a fraction
(``NOT_UPRIGHT``) of its scripted confidence, as an upside-down page reads badly in Tesseract.
The pipeline's own decisions (turn a sideways page, recheck one that read badly) thus run as
with the real engine.

A page without a QR code, or with a key that has no script, gets the ``unknown`` script, or
fails with UnreadablePage ("no script for this page") when there is none. Failures are scripted
as the real engines report them (ocr/tesseract.py, ocr/worker_engine.py):

- ``"unreadable"``: UnreadablePage (permanent: the page is reported, the others go on);
- ``"engine"``: EngineFailed (transient: the engine could not run, the page may be retried);
- ``"hang"``: blocks for the page's ``timeout``, then UnreadablePage "took longer than N s";
- ``"crash"``: UnreadablePage "crashed on this page (its worker process died)", as the worker
  engine reports a worker that died on a page (permanent: the same page would crash again).

Failures and ``delay`` apply to ``recognize()``; ``orientation()`` always answers. The engine
keeps no module state; its counters live on the instance and are safe to read from any thread.

Settings choose it like the real engines (``ocr.engine = "scripted"`` with ``ocr.script_file``,
a JSON script read by ``ScriptedEngine.from_file``), so a ``kartoteka`` process runs on it too:
the service tests and integrators' rehearsals.
"""

from __future__ import annotations

import html
import json
import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import cv2
import numpy as np

from ocr.engine import Orientation
from ocr.errors import PAGE_CRASHED, EngineFailed, EngineMissing, UnreadablePage, page_timed_out
from ocr.hocr import hocr_document, parse_words
from ocr.model import PageText
from ocr.textpdf import page_pdf

Failure = Literal["unreadable", "engine", "hang", "crash"]

#: The key calls of pages without a readable QR code are counted under.
NO_KEY = ""
#: A page recognised while not upright reads with this fraction of its scripted confidence
#: (Tesseract: 0.85-0.96 upright, 0.2-0.4 upside down), so the pipeline's recheck turns it.
NOT_UPRIGHT = 0.3
#: What orientation() reports as its confidence (Tesseract OSD's scale; the pipeline needs 2).
ORIENTATION_CONFIDENCE = 15.0
#: QR codes are looked for on copies scaled down to these long sides first: decoding takes time
#: in proportion to the pixels (0.12 s at 1754 px, 0.02 s at 1000 px), and a page's code is large.
DECODE_SIDES = (1000, 2000)
DEFAULT_LANGUAGES = frozenset({"eng", "kaz", "osd", "rus"})
#: The message of a page with no script and no ``unknown`` default.
NO_SCRIPT = "no script for this page"
#: The searchable-PDF page's Producer.
PRODUCER = "kartoteka (scripted engine)"


@dataclass(frozen=True, slots=True)
class PageScript:
    """What the engine answers for one page."""

    text: str
    #: every word's confidence, 0..1 (the page's mean confidence when it is upright)
    confidence: float = 0.95
    #: what orientation() reports (clockwise degrees to turn upright); None: the truth, read
    #: from the QR code's position. The pipeline asks only for pages that look sideways or
    #: read badly.
    rotation: int | None = None
    fail: Failure | None = None
    #: seconds recognize() takes before answering (a slow page)
    delay: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, not {self.confidence}")
        if self.rotation not in (None, 0, 90, 180, 270):
            raise ValueError(f"rotation must be 0, 90, 180 or 270, not {self.rotation}")
        if self.fail is not None and self.fail not in get_args(Failure):
            raise ValueError(f"fail must be one of {get_args(Failure)}, not {self.fail!r}")
        if self.delay < 0:
            raise ValueError(f"delay must not be negative, not {self.delay}")


@dataclass(frozen=True, slots=True)
class PageKey:
    """A page's QR code: the key it carries and how the image must be turned to make it upright."""

    key: str
    #: clockwise degrees (0, 90, 180, 270)
    rotation: int


@dataclass(frozen=True, slots=True)
class Request:
    """One recognize() call, as the engine saw it."""

    key: str
    languages: str
    dpi: int
    timeout: float


class ScriptedEngine:
    """An OcrEngine answering from scripts chosen by the QR code on each page."""

    name = "scripted"

    def __init__(
        self,
        scripts: Mapping[str, PageScript],
        *,
        unknown: PageScript | None = None,
        languages: Iterable[str] = DEFAULT_LANGUAGES,
    ) -> None:
        self._scripts = dict(scripts)
        self._unknown = unknown
        self._languages = set(languages)
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._requests: list[Request] = []
        self._released = threading.Event()

    @classmethod
    def from_file(cls, path: Path) -> ScriptedEngine:
        """An engine from a JSON file: ``{"pages": {key: {"text": ..., ...}}, "unknown": {...}}``.

        Raises OSError when it cannot be read, ValueError when it is not such a script.
        """
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("pages", {}), dict):
            raise ValueError('a script is a JSON object {"pages": {key: {"text": ...}}, "unknown": {...}}')
        pages = {str(key): _script(value) for key, value in data.get("pages", {}).items()}
        unknown = data.get("unknown")
        return cls(pages, unknown=_script(unknown) if unknown is not None else None)

    def version(self) -> str:
        return "1"

    def languages(self) -> set[str]:
        return set(self._languages)

    def check_languages(self, languages: str) -> None:
        """Raise EngineMissing for a language this engine was not given, as the real ones do."""
        missing = [lang for lang in languages.split("+") if lang not in self._languages]
        if missing:
            raise EngineMissing(f"the scripted engine has no language {'+'.join(missing)}: pass it in languages=")

    @property
    def calls(self) -> Counter[str]:
        """recognize() calls per key so far (pages without a QR code under NO_KEY); a copy."""
        with self._lock:
            return Counter(self._calls)

    @property
    def requests(self) -> tuple[Request, ...]:
        """Every recognize() call so far, in the order they came."""
        with self._lock:
            return tuple(self._requests)

    def release(self) -> None:
        """End every hang and delay now, and skip later ones (a test's teardown)."""
        self._released.set()

    def close(self) -> None:
        self.release()

    def recognize(self, image: np.ndarray, *, languages: str, dpi: int, timeout: float) -> PageText:
        gray = _gray(image)
        found = read_key(gray)
        key = found.key if found else NO_KEY
        with self._lock:
            self._calls[key] += 1
            self._requests.append(Request(key, languages, dpi, timeout))
        script = self._script_for(found)
        if script.delay:
            self._released.wait(script.delay)
        if script.fail is not None:
            self._fail(script.fail, timeout)
        upright = found is None or found.rotation == 0
        confidence = script.confidence if upright else script.confidence * NOT_UPRIGHT
        return page_text(script.text, confidence, gray, dpi)

    def orientation(self, image: np.ndarray, *, dpi: int, timeout: float) -> Orientation | None:
        found = read_key(_gray(image))
        script = self._scripts.get(found.key, self._unknown) if found else self._unknown
        if script is not None and script.rotation is not None:
            return Orientation(rotation=script.rotation, confidence=ORIENTATION_CONFIDENCE)
        if found is None:
            return None  # no QR code: like OSD with too few characters, no answer
        return Orientation(rotation=found.rotation, confidence=ORIENTATION_CONFIDENCE)

    def _script_for(self, found: PageKey | None) -> PageScript:
        script = self._scripts.get(found.key) if found else None
        if script is not None:
            return script
        if self._unknown is not None:
            return self._unknown
        detail = f"QR code {found.key!r}" if found else "no QR code found"
        raise UnreadablePage(f"{NO_SCRIPT} ({detail})", stage="ocr")

    def _fail(self, fail: Failure, timeout: float) -> None:
        if fail == "unreadable":
            raise UnreadablePage("Tesseract could not read this page (scripted)", stage="ocr")
        if fail == "engine":
            raise EngineFailed("the OCR engine could not run (scripted)", stage="ocr")
        if fail == "hang":
            self._released.wait(timeout)
            raise UnreadablePage(page_timed_out(timeout), stage="ocr")  # as the real engines say
        if fail == "crash":
            raise UnreadablePage(PAGE_CRASHED, stage="ocr")  # ocr/worker_engine.py's dead worker


def _script(data: Mapping[str, Any]) -> PageScript:
    if not isinstance(data, Mapping) or not isinstance(data.get("text", ""), str):
        raise ValueError(f"a page script is an object with a text, not {data!r}"[:200])
    return PageScript(
        text=str(data.get("text", "")),
        confidence=float(data.get("confidence", 0.95)),
        rotation=None if data.get("rotation") is None else int(data["rotation"]),
        fail=data.get("fail"),
        delay=float(data.get("delay", 0.0)),
    )


# --- reading the key ------------------------------------------------------------------------------


def read_key(image: np.ndarray) -> PageKey | None:
    """The QR code on the page and the turn that makes it upright, or None when none is read."""
    gray = _gray(image)
    h, w = gray.shape
    views = [
        cv2.resize(gray, (round(w * side / max(h, w)), round(h * side / max(h, w))), interpolation=cv2.INTER_AREA)
        for side in DECODE_SIDES
        if side < max(h, w)
    ]
    views.append(gray)
    # The classic detector first; the ArUco-based one reads some small, resampled codes it misses.
    detectors = [cv2.QRCodeDetector(), *([cv2.QRCodeDetectorAruco()] if hasattr(cv2, "QRCodeDetectorAruco") else [])]
    for view in views:
        for detector in detectors:
            try:
                text, points, _ = detector.detectAndDecode(view)
            except cv2.error:
                continue
            if text and points is not None:
                return PageKey(key=text, rotation=_upright_turn(np.asarray(points, dtype=np.float64).reshape(-1, 2)))
    return None


def _upright_turn(corners: np.ndarray) -> int:
    """Clockwise degrees that make the code upright, from its first edge (top-left to top-right)."""
    dx, dy = corners[1] - corners[0]
    tilt = math.degrees(math.atan2(dy, dx))  # clockwise on screen: image rows grow downwards
    return (-round(tilt / 90) * 90) % 360


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    if image.ndim != 2 or not image.size:
        raise UnreadablePage("empty page image", stage="ocr")
    if image.dtype != np.uint8:
        raise UnreadablePage(f"page image of type {image.dtype} cannot be recognised", stage="ocr")
    return np.ascontiguousarray(image)


# --- what the engine returns ----------------------------------------------------------------------

Box = tuple[int, int, int, int]
Line = list[tuple[str, Box]]


def page_text(text: str, confidence: float, gray: np.ndarray, dpi: int) -> PageText:
    """``text`` as one engine run renders it: words laid out on lines, hOCR and a PDF page."""
    h, w = gray.shape[:2]
    lines = layout(text, w, h)
    hocr = _hocr(lines, confidence, w, h, dpi)
    words = parse_words(hocr)  # as the real engines do: the words are what the hOCR says
    return PageText(text=text, words=words, hocr=hocr, pdf=page_pdf(gray, dpi, hocr, None, producer=PRODUCER))


def layout(text: str, width: int, height: int) -> list[Line]:
    """Each non-empty line's words with boxes inside a ``width`` x ``height`` image, top to bottom."""
    rows = text.splitlines()
    left, top = width // 10, height // 10
    pitch = max(1, min(height // 30, (height - 2 * top) // max(len(rows), 1)))
    longest = max((len(r.strip()) for r in rows), default=1) or 1
    char = max(1.0, min(pitch * 0.6, (width - 2 * left) / longest))
    lines: list[Line] = []
    for index, row in enumerate(rows):
        y0 = min(top + index * pitch, height - 2)
        y1 = min(y0 + max(1, int(pitch * 0.7)), height - 1)
        line: Line = []
        x = float(left)
        for word in row.split():
            right = x + char * len(word)
            line.append((word, (min(int(x), width - 2), y0, min(int(right), width - 1), y1)))
            x = right + char
        if line:
            lines.append(line)
    return lines


def _hocr(lines: list[Line], confidence: float, width: int, height: int, dpi: int) -> str:
    """Tesseract's hOCR layout: page, one area and paragraph, lines of words with x_wconf."""
    wconf = f"{round(confidence * 100, 2):g}"
    body: list[str] = []
    for n, line in enumerate(lines, 1):
        box = _union([b for _, b in line])
        body.append(
            f"     <span class='ocr_line' id='line_1_{n}' title=\"{_bbox(box)}; baseline 0 0; x_size {box[3] - box[1]}\">"
        )
        for m, (word, wbox) in enumerate(line, 1):
            body.append(
                f"      <span class='ocrx_word' id='word_{n}_{m}' title='{_bbox(wbox)}; x_wconf {wconf}'>{html.escape(word)}</span>"
            )
        body.append("     </span>")
    area = _bbox(_union([b for line in lines for _, b in line])) if lines else _bbox((0, 0, width, height))
    return hocr_document(
        f"  <div class='ocr_page' id='page_1' title='image \"\"; bbox 0 0 {width} {height}; ppageno 0; scan_res {dpi} {dpi}'>\n"
        + f"   <div class='ocr_carea' id='block_1_1' title=\"{area}\">\n"
        + f"    <p class='ocr_par' id='par_1_1' title=\"{area}\">\n"
        + "".join(line + "\n" for line in body)
        + "    </p>\n   </div>\n  </div>\n",
        "kartoteka scripted engine",
    )


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _bbox(box: Box) -> str:
    return "bbox {} {} {} {}".format(*box)
