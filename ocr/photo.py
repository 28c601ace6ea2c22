"""Phone photos of pages: find the page, even out light and colour, bring small text up to size.

Pure functions on arrays, like ocr/preprocess.py; ocr/page.py decides where each one runs and
records it in the page's ``steps``. Each step has a cheap test of whether a page needs it, so
flatbed scans and born-digital pages go through untouched (bench/photo_bench.py measures both).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.config import OcrConfig
from ocr.preprocess import analysis_view, noise_level

#: Resampling for scaling text up; bench/photo_bench.py --resampling compared the others.
RESAMPLING = {"cubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4, "linear": cv2.INTER_LINEAR}


@dataclass(frozen=True, slots=True)
class Background:
    """The paper's own tone, estimated with the text removed."""

    #: the smoothed background (analysis-view size), one plane per channel
    planes: np.ndarray
    #: brightest over darkest paper (95th / 5th percentile of the background's luminance)
    unevenness: float
    #: strongest over weakest channel of the paper's mean colour (1.0 for gray)
    cast: float


def _to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


View = tuple[np.ndarray, float]  # an analysis view and its scale, computed once per page

#: Fewest letter-sized components to measure the text by. A short page photographed small has
#: few: the five lines of a generated leave application at 650-900 px across gave 16-18 (its
#: letters touch and count as words), all 9 px high; at 20 it was never scaled and Tesseract
#: read nothing (bench/photo_kinds_bench.py, held-out).
MIN_LETTERS = 10


def text_height(gray: np.ndarray, view: View | None = None) -> float:
    """Median height in pixels of letter-sized ink components (0.0 when too few to tell).

    Measured on the analysis view (so a 300 dpi A4 scan costs the same as a photo) with an
    adaptive threshold, which holds under shading. Most letters of running text are lower-case,
    so the median is near the x-height: 12 pt at 300 dpi gives 23-26 px.
    """
    small, scale = view or analysis_view(_to_gray(gray))
    # Every other pixel is enough for the noise estimate (white noise stays white) at a quarter of the cost.
    if noise_level(small[::2, ::2]) > 3.0:
        # Speckle is letter-sized to the threshold: a noisy 300 dpi scan measured 7.5 px, not 30.
        small = cv2.medianBlur(small, 3)
    binary = cv2.adaptiveThreshold(small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 20)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    w, h, area = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    # Letters: at least 3 px high, not lines (w <= 2.5 h), not dots or blobs (fill 10-90 %).
    fill = area / np.maximum(w * h, 1)
    letters = (h >= 3) & (h <= small.shape[0] // 10) & (w <= 2.5 * h) & (w >= 1) & (fill > 0.1) & (fill < 0.9)
    if int(letters.sum()) < MIN_LETTERS:
        return 0.0
    return float(np.median(h[letters])) / scale


#: Sharpen only what was scaled up at least this much. From 1.5x, pages scaled 2-2.5x read a
#: little worse (generated large photos CER 1.8 % -> 2.3 %, the 1_1 and 1_3 samples' words found
#: -0.004 and -0.009, bench/results/photo.md); the gains were all on text of 4-7 px (x3-4).
SHARPEN_FROM = 3.0


def scale_text(gray: np.ndarray, factor: float, resampling: str = "cubic", sharpen: float = 0.0) -> np.ndarray:
    """Resize by ``factor``; down with area averaging, up with ``resampling`` and then, from
    SHARPEN_FROM up, an unsharp mask of ``sharpen`` whose radius (half the factor) is about one
    source pixel: it undoes the blur of the interpolation, not the photo's."""
    interpolation = cv2.INTER_AREA if factor < 1.0 else RESAMPLING[resampling]
    scaled = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=interpolation)
    if sharpen <= 0.0 or factor < SHARPEN_FROM:
        return scaled
    blurred = cv2.GaussianBlur(scaled, (0, 0), factor * 0.5)
    return cv2.addWeighted(scaled, 1.0 + sharpen, blurred, -sharpen, 0)


def background(image: np.ndarray, text: float, view: View | None = None) -> Background:
    """Estimate the paper under the text: a closing wider than the letters, then a median blur.

    Works on a copy about 4x smaller than the analysis view; ``text`` is the text height in
    full-resolution pixels (it sets the closing's size so whole letters disappear).
    """
    small, scale = view or analysis_view(image)
    factor = 0.25
    tiny = cv2.resize(small, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    size = max(3, int(round(text * scale * factor * 3)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    planes = cv2.morphologyEx(tiny, cv2.MORPH_CLOSE, kernel)
    planes = cv2.medianBlur(planes, max(5, (size * 2) | 1) if size * 2 < 255 else 255)
    lum = _to_gray(planes).astype(np.float32)
    lo, hi = np.percentile(lum, [5, 95])
    if planes.ndim == 3:
        means = planes.reshape(-1, 3).mean(axis=0)
        cast = float(means.max() / max(means.min(), 1.0))
    else:
        cast = 1.0
    return Background(planes, float(hi / max(lo, 1.0)), cast)


def flatten(image: np.ndarray, bg: Background) -> np.ndarray:
    """Divide the paper out, channel by channel, and return the page as 8-bit gray.

    Paper becomes white whatever its light or colour; ink keeps its darkness relative to the
    paper around it. Of the evened channels the one with the most ink contrast is kept.
    """
    h, w = image.shape[:2]
    planes = cv2.resize(bg.planes, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    even = np.clip(image.astype(np.float32) * (255.0 / np.maximum(planes, 1.0)), 0, 255).astype(np.uint8)
    if even.ndim == 2:
        return even
    return _best_channel(even)


def _best_channel(even: np.ndarray) -> np.ndarray:
    """The channel (or luminance) whose ink stands out most from the paper."""
    small, _ = analysis_view(even)
    candidates = {"gray": cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), **{str(i): small[:, :, i] for i in range(3)}}
    best, best_score = "gray", -1.0
    for name, plane in candidates.items():
        threshold, _ = cv2.threshold(plane, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        ink, paper = plane[plane < threshold], plane[plane >= threshold]
        if len(ink) == 0 or len(paper) == 0:
            continue
        score = (float(np.median(paper)) - float(np.median(ink))) / (float(paper.std()) + 1.0)
        if score > best_score:
            best, best_score = name, score
    return cv2.cvtColor(even, cv2.COLOR_RGB2GRAY) if best == "gray" else np.ascontiguousarray(even[:, :, int(best)])


def find_page(image: np.ndarray, view: View | None = None) -> np.ndarray | None:
    """Corners (4x2, full resolution, clockwise from top left) of a page lying on a darker
    background, or None where there is no such outline (a scan, a photo cropped inside the page).
    """
    small, scale = view or analysis_view(_to_gray(image))
    blurred = cv2.GaussianBlur(small, (7, 7), 0)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15)))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(outline)
    total = small.shape[0] * small.shape[1]
    if not 0.2 * total <= area <= 0.97 * total:
        return None
    quad = cv2.approxPolyDP(cv2.convexHull(outline), 0.02 * cv2.arcLength(outline, True), True)
    if len(quad) != 4 or cv2.contourArea(quad) < 0.9 * area:
        return None
    corners = _order(quad.reshape(4, 2).astype(np.float32) / scale)
    if not _darker_outside(small, bright) or _sides_clear(corners, image.shape[:2]) < 3:
        return None
    return corners


def _sides_clear(corners: np.ndarray, shape: tuple[int, ...]) -> int:
    """On how many sides the desk shows between the page and the frame: a photo of a whole page
    shows it on three or four, a scanner's dark border (not a photo) on one or two."""
    h, w = shape[0], shape[1]
    tl, tr, br, bl = corners
    gaps = (min(tl[1], tr[1]) / h, 1 - max(tr[0], br[0]) / w, 1 - max(br[1], bl[1]) / h, min(tl[0], bl[0]) / w)
    return sum(1 for g in gaps if g > 0.01)


def _darker_outside(small: np.ndarray, page_mask: np.ndarray) -> bool:
    """The outside must be a background, clearly darker than the paper (not a margin's shadow)."""
    inside, outside = small[page_mask > 0], small[page_mask == 0]
    if outside.size < 0.02 * small.size:
        return False
    return float(np.median(outside)) < 0.6 * float(np.percentile(inside, 75))


def _order(pts: np.ndarray) -> np.ndarray:
    s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], dtype=np.float32)


def unwarp(image: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The page inside ``corners`` as a flat rectangle as large as its longest sides."""
    tl, tr, br, bl = corners
    width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(image, m, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True, slots=True)
class PhotoFix:
    """What the photo steps did to a page: the image to go on with, its resolution, the steps."""

    gray: np.ndarray
    dpi: int
    steps: tuple[str, ...]


def fix_photo(gray: np.ndarray, colour: np.ndarray | None, dpi: int, cfg: OcrConfig) -> PhotoFix:
    """Page outline, light and colour, text size: each step only where the page needs it.

    A flatbed scan or a rendered page has no outline on a dark background, an even white
    paper and text of 20-30 px, so it comes back as it came (the same array, no steps); the
    checks cost about 30 ms on an A4 page at 300 dpi.
    """
    image = colour if colour is not None else gray
    steps: list[str] = []
    if min(gray.shape[:2]) < MIN_SIDE:
        return PhotoFix(gray, dpi, ())
    view, gray_view = _views(image, gray)
    corners = find_page(image, gray_view) if cfg.find_page else None
    if corners is not None:
        image = unwarp(image, corners)
        view, gray_view = _views(image)
        steps.append("page")
    elif float(np.median(gray_view[0])) < 100:
        return PhotoFix(gray, dpi, ())  # light text on a dark ground (scribe slide_01: 34), not paper
    height = text_height(image, gray_view)
    if cfg.even_light:
        bg = background(image, height or 8.0, view)
        if _needs_evening(bg, cfg):
            image = flatten(image, bg)
            steps.append("flatten")
    if steps:
        gray = _to_gray(image)
    factor = scale_for(height, cfg, max(gray.shape[:2]))
    if factor != 1.0:
        gray = scale_text(gray, factor, cfg.resampling, cfg.sharpen)
        steps.append(f"scale{factor:.1f}")
        # Photos carry no real resolution (72 dpi is a placeholder): tell Tesseract the one at
        # which this text would be 12 pt; 150 x factor instead raised CER on cropped photos 0.03 -> 0.06.
        dpi = int(round(REFERENCE_DPI * height * factor / REFERENCE_HEIGHT))
    return PhotoFix(gray, dpi, tuple(steps))


#: Below this on either side the image is a crop (a text line, a stamp), not a page.
MIN_SIDE = 300


def _needs_evening(bg: Background, cfg: OcrConfig) -> bool:
    """Uneven or tinted paper that is not white anywhere: a camera's. A scan's paper is white
    (background median 245-255) even where a figure makes it look uneven (scribe multicol_06:
    unevenness 2.0); phone photos' paper measured 195-224."""
    lum = _to_gray(bg.planes)
    if float(np.median(lum)) >= 240:
        return False
    return bg.unevenness > cfg.uneven_above or bg.cast > cfg.cast_above


def _views(image: np.ndarray, gray: np.ndarray | None = None) -> tuple[View, View]:
    """The analysis views of ``image`` and of its gray version (``gray`` when already known).

    A colour page's view is taken from every n-th pixel first: the background estimate it
    feeds is blurred anyway, and resizing the whole colour page cost 24 ms of the checks'
    54 ms on an A4 scan at 300 dpi."""
    gray_view = analysis_view(gray if gray is not None else _to_gray(image))
    if image.ndim == 2:
        return gray_view, gray_view
    step = max(1, max(image.shape[:2]) // 1400)
    small, scale = analysis_view(np.ascontiguousarray(image[::step, ::step]))
    return (small, scale / step), gray_view


#: ``text_height`` of 12 pt DejaVu Sans at 300 dpi: the size Tesseract reads best in our sweep.
REFERENCE_HEIGHT = 30.0
REFERENCE_DPI = 300


#: Scaled pages stay below this long side: Tesseract's time grows with the pixels, and a page
#: misjudged to have tiny text must not become a 10,000 px image that runs into the timeout.
MAX_SIDE = 7000


def scale_for(height: float, cfg: OcrConfig, side: int = 0) -> float:
    """The factor that brings text of ``height`` px to ``cfg.text_target`` (1.0: leave it);
    ``side`` is the page's long side, which the factor may not take past MAX_SIDE."""
    if height <= 0 or not cfg.scale_text or not (height < cfg.scale_below or height > cfg.shrink_above):
        return 1.0
    factor = min(cfg.text_target / height, 4.0)
    if side and factor > 1.0:
        factor = min(factor, MAX_SIDE / side)
    return round(factor, 1) if abs(factor - 1.0) >= 0.2 else 1.0
