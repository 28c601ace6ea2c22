"""One page from image to recognised text: preprocessing decisions and the engine run.

Runs in a worker thread; takes plain data and returns a PageResult, never raises for a bad page.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image

from ingest import reasons
from ingest.errors import PermanentError, TransientError
from ingest.separators import is_blank_page, read_codes
from ocr import photo
from ocr import preprocess as pp
from ocr.config import OcrConfig
from ocr.engine import OcrEngine, Orientation
from ocr.hocr import mean_confidence
from ocr.model import PageResult, PageText
from ocr.rules import find_rules, remove_rules
from ocr.tables import in_row_order

log = logging.getLogger(__name__)

#: Below this mean word confidence an upright-looking page is checked for being upside down.
#: Upright pages score 0.85-0.96 in our tests, upside-down ones 0.2-0.4.
RECHECK_BELOW = 0.6


@dataclass(frozen=True, slots=True)
class Prepared:
    image: np.ndarray
    rotation: int
    skew: float
    steps: tuple[str, ...]
    osd_done: bool
    #: the resolution to tell the engine: the page's own, or the one its scaled text implies
    dpi: int


def prepare(gray: np.ndarray, dpi: int, cfg: OcrConfig, engine: OcrEngine, colour: np.ndarray | None = None) -> Prepared:
    """Photo fixes, borders, orientation of sideways pages, deskew and clean-up, each only where needed."""
    fixed = photo.fix_photo(gray, colour, dpi, cfg)  # page outline, light and colour, text size
    gray, dpi, steps = fixed.gray, fixed.dpi, list(fixed.steps)
    rotation = 0
    osd_done = False
    if cfg.remove_borders:
        gray, changed = pp.whiten_borders(gray)
        if changed:
            steps.append("borders")
    estimate = pp.estimate_skew(gray, cfg.max_skew)
    if cfg.orientation == "auto" and estimate.sideways:
        found = _orientation(gray, dpi, cfg, engine)
        # With no answer, turn a quarter and let the low-confidence recheck find the rest.
        osd_done = found is not None
        rotation = found.rotation if found and found.rotation in (90, 270) else 90
        gray = pp.turn(gray, rotation)
        steps.append(f"turned{rotation}")
        estimate = pp.estimate_skew(gray, cfg.max_skew)
    skew = 0.0
    # A single text line (a crop, a stamp) gives no reliable angle: turning it made CER worse.
    if cfg.deskew and estimate.enough and cfg.min_skew <= abs(estimate.angle) <= cfg.max_skew:
        skew = estimate.angle
        gray = pp.rotate(gray, -skew)
        steps.append("deskew")
    # At low resolution a 3x3 median filter eats letter strokes (a 96 dpi slide: CER 0.08 -> 0.13).
    if cfg.clean_noisy and dpi >= 150 and pp.noise_level(gray) > cfg.noise_threshold:
        gray = pp.clean_noisy(gray)
        steps.append("clean")
    return Prepared(gray, rotation, skew, tuple(steps), osd_done, dpi)


def _orientation(gray: np.ndarray, dpi: int, cfg: OcrConfig, engine: OcrEngine) -> Orientation | None:
    """Tesseract OSD, first on a half-size copy of a large page (as accurate on body text and
    about twice as fast), then at full size if that gives no confident answer (small pages:
    at 320x240 px OSD's confidence fell to 0.3-0.5, at full size it was right with 9-11)."""
    timeout = min(cfg.page_timeout, 60.0)
    if max(gray.shape[:2]) >= 2000:
        half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        found = engine.orientation(half, dpi=max(dpi // 2, 70), timeout=timeout)
        if found is not None and found.confidence >= cfg.osd_min_confidence:
            return found
    found = engine.orientation(gray, dpi=dpi, timeout=timeout)
    if found is None or found.confidence < cfg.osd_min_confidence:
        return None
    return found


def recognize_page(
    number: int, gray: np.ndarray, dpi: int, cfg: OcrConfig, engine: OcrEngine, *, colour: np.ndarray | None = None
) -> PageResult:
    """Preprocess and recognise one page; failures come back as a PageResult with ``error``.

    ``colour``: the page in colour (RGB) where the file has it, for the photo steps."""
    h, w = gray.shape[:2]
    base = PageResult(number=number, width=w, height=h, dpi=dpi)
    try:
        if cfg.read_codes:
            base = replace(base, codes=tuple(read_codes(gray)))
        if cfg.skip_blank and _blank(gray, colour, dpi, cfg):
            return replace(base, blank=True, steps=("blank",))
        prep = prepare(gray, dpi, cfg, engine, colour)
        dpi = prep.dpi  # a photo's scaled text comes with the resolution it implies
        # --- ruled forms (issue 13; ocr/rules.py, ocr/tables.py): rules off, tables read by rows ---
        ruled = find_rules(prep.image, dpi)
        if ruled is not None:
            prep = replace(prep, image=remove_rules(prep.image, ruled), steps=(*prep.steps, "rules"))
        text = engine.recognize(prep.image, languages=cfg.languages, dpi=dpi, timeout=cfg.page_timeout)
        if ruled is not None:
            text = in_row_order(text, ruled, dpi)
        # --- end ruled forms ---
        result = _result(base, prep, text)
        if cfg.orientation == "auto" and not prep.osd_done and result.confidence < RECHECK_BELOW:
            result = _recheck_upside_down(base, prep, result, dpi, cfg, engine)
        return result
    except PermanentError as e:
        log.warning("page %d: %s", number, e)
        return replace(base, error=str(e), pdf=image_pdf(gray, base.dpi))
    except TransientError as e:
        # The engine could not run (killed, out of memory): the page may work on a later try.
        log.warning("page %d: %s", number, e)
        return replace(base, error=reasons.TRY_AGAIN % {"error": e}, retry=True, pdf=image_pdf(gray, base.dpi))


def _blank(gray: np.ndarray, colour: np.ndarray | None, dpi: int, cfg: OcrConfig) -> bool:
    """No ink on the page, looked at again after the photo steps where it seems blank: small
    text on a shaded photo thresholds to nothing (3 of 5 generated small photos were called
    blank; evened out and scaled, each had 1.1-1.4 % ink)."""
    if not is_blank_page(pp.analysis_view(gray)[0]):
        return False
    fixed = photo.fix_photo(gray, colour, dpi, cfg)
    return not fixed.steps or is_blank_page(pp.analysis_view(fixed.gray)[0])


def image_pdf(gray: np.ndarray, dpi: int) -> bytes:
    """A PDF page with the image alone, so a page Tesseract could not read is still kept."""
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, "PDF", resolution=float(dpi))
    return buf.getvalue()


def _result(base: PageResult, prep: Prepared, text: PageText) -> PageResult:
    h, w = prep.image.shape[:2]
    return replace(
        base,
        text=text.text,
        confidence=mean_confidence(text.words),
        rotation=prep.rotation,
        skew=prep.skew,
        words=text.words,
        hocr=text.hocr,
        pdf=text.pdf,
        steps=prep.steps,
        width=w,
        height=h,
    )


def _recheck_upside_down(
    base: PageResult, prep: Prepared, first: PageResult, dpi: int, cfg: OcrConfig, engine: OcrEngine
) -> PageResult:
    """A page that read badly may be upside down: ask OSD, and only then recognise it again."""
    found = _orientation(prep.image, dpi, cfg, engine)
    if found is None or found.rotation == 0:
        return first
    turned = replace(
        prep,
        image=pp.turn(prep.image, found.rotation),
        rotation=(prep.rotation + found.rotation) % 360,
        steps=(*prep.steps, f"turned{found.rotation}"),
    )
    second = _result(base, turned, engine.recognize(turned.image, languages=cfg.languages, dpi=dpi, timeout=cfg.page_timeout))
    return second if second.confidence > first.confidence else first
