"""Image preprocessing with OpenCV: pure functions from an 8-bit grayscale page to a better one.

Each step was measured on rendered pages (bench/ocr_bench.py) and is applied only where it
helps: deskew always pays off (a ~20 ms estimate); binarisation only on noisy pages, since it
slightly hurt clean, 150 dpi and blurred ones; orientation detection (Tesseract OSD, the
costliest step) only on pages that look sideways or upside down.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Pages are analysed at this long side; the analysis does not need full resolution.
_ANALYSIS_SIDE = 1400
_MAX_POINTS = 25_000


@dataclass(frozen=True, slots=True)
class SkewEstimate:
    #: degrees counter-clockwise that the text lines are tilted; rotate by -angle to fix
    angle: float
    #: how line-like the page is along the best near-horizontal direction
    horizontal: float
    #: the same for the best near-vertical direction (text lines running up or down the page)
    vertical: float

    #: False for images too small to tell (a single text line, a stamp)
    enough: bool = True

    @property
    def sideways(self) -> bool:
        return self.enough and self.vertical > 1.25 * self.horizontal


def analysis_view(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """A downscaled copy for analysis, and the factor it was scaled by."""
    h, w = gray.shape[:2]
    scale = min(1.0, _ANALYSIS_SIDE / max(h, w))
    if scale < 1.0:
        return cv2.resize(gray, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA), scale
    return gray, 1.0


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """True where there is ink (Otsu threshold, dark on light)."""
    blurred = cv2.GaussianBlur(gray, (3, 3), 0)
    _, mask = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return mask > 0


def _line_score(ys: np.ndarray, xs: np.ndarray, angle_deg: float, bins: int) -> float:
    """How peaked the projection of ink points is across lines tilted by ``angle_deg``."""
    a = np.deg2rad(angle_deg)
    proj = ys * np.cos(a) - xs * np.sin(a)
    lo = float(proj.min())
    span = float(proj.max()) - lo or 1.0
    index = ((proj - lo) * ((bins - 1) / span)).astype(np.intp)
    h = np.bincount(index, minlength=bins).astype(np.float64)
    return float(np.mean(h * h)) / max(float(np.mean(h)) ** 2, 1e-9)


def _best_angle(ys: np.ndarray, xs: np.ndarray, lo: float, hi: float, bins: int, *, refine: bool = True) -> tuple[float, float]:
    coarse = np.arange(lo, hi + 0.001, 1.0)
    scores = [_line_score(ys, xs, a, bins) for a in coarse]
    best = float(coarse[int(np.argmax(scores))])
    if not refine:
        return best, float(max(scores))
    fine = np.arange(best - 1.0, best + 1.001, 0.1)
    fine_scores = [_line_score(ys, xs, a, bins) for a in fine]
    i = int(np.argmax(fine_scores))
    return float(fine[i]), float(fine_scores[i])


def estimate_skew(gray: np.ndarray, max_angle: float = 20.0) -> SkewEstimate:
    """Estimate the tilt of text lines by maximising the peakiness of ink projections."""
    small, _ = analysis_view(gray)
    mask = ink_mask(small)
    ys, xs = np.nonzero(mask)
    if len(ys) < 200:
        return SkewEstimate(0.0, 0.0, 0.0)
    if len(ys) > _MAX_POINTS:
        pick = np.random.default_rng(0).choice(len(ys), _MAX_POINTS, replace=False)
        ys, xs = ys[pick], xs[pick]
    # Jitter within each pixel: integer coordinates alias with the histogram bins at 0 and 90 degrees.
    jitter = np.random.default_rng(1).random((2, len(ys)))
    ys = ys.astype(np.float64) + jitter[0]
    xs = xs.astype(np.float64) + jitter[1]
    bins = max(small.shape) // 2
    h_angle, h_score = _best_angle(ys, xs, -max_angle, max_angle, bins)
    # Sideways or not needs no fine angle: the coarse best is far above or below the horizontal one.
    _, v_score = _best_angle(ys, xs, 90 - max_angle, 90 + max_angle, bins, refine=False)
    # Image rows grow downwards, so a positive projection angle is a clockwise tilt on screen.
    enough = min(gray.shape[:2]) >= 300
    return SkewEstimate(angle=-h_angle, horizontal=h_score, vertical=v_score, enough=enough)


def rotate(gray: np.ndarray, angle: float) -> np.ndarray:
    """Rotate counter-clockwise by ``angle`` degrees, growing the canvas and filling with paper."""
    h, w = gray.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    fill = int(np.percentile(gray, 90))  # the paper's own tone, not pure white
    return cv2.warpAffine(gray, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=fill)


def turn(gray: np.ndarray, clockwise_degrees: int) -> np.ndarray:
    """Turn by a multiple of 90 degrees clockwise (lossless)."""
    k = (clockwise_degrees // 90) % 4
    return np.ascontiguousarray(np.rot90(gray, -k)) if k else gray


def noise_level(gray: np.ndarray) -> float:
    """Estimated standard deviation of pixel noise, on the analysis view.

    Immerkaer's Laplacian-difference operator with a median instead of a mean: the median
    ignores the edges of letters, so clean pages of any density score 0 and only noise counts
    (a mean scored ordinary clean scans 3-7, as high as genuinely noisy ones).
    """
    small, _ = analysis_view(gray)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    conv = cv2.filter2D(small.astype(np.float32), -1, kernel)
    return float(np.median(np.abs(conv)) / (0.6745 * 6.0))


def clean_noisy(gray: np.ndarray) -> np.ndarray:
    """Denoise and binarise a noisy page (median filter, then Otsu)."""
    denoised = cv2.medianBlur(gray, 3)
    denoised = cv2.GaussianBlur(denoised, (3, 3), 0)
    _, binary = cv2.threshold(denoised, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return binary


def whiten_borders(gray: np.ndarray, dark: int = 90, max_fraction: float = 0.12) -> tuple[np.ndarray, bool]:
    """Paint dark scanner borders (solid dark bands along the edges) as paper."""
    h, w = gray.shape
    row_mean = gray.mean(axis=1)
    col_mean = gray.mean(axis=0)

    def run(values: np.ndarray, limit: int) -> int:
        n = 0
        while n < limit and values[n] < dark:
            n += 1
        return n

    top = run(row_mean, int(h * max_fraction))
    bottom = run(row_mean[::-1], int(h * max_fraction))
    left = run(col_mean, int(w * max_fraction))
    right = run(col_mean[::-1], int(w * max_fraction))
    if not (top or bottom or left or right):
        return gray, False
    out = gray.copy()
    paper = int(np.percentile(gray, 90))
    margin = 2
    if top:
        out[: top + margin, :] = paper
    if bottom:
        out[h - bottom - margin :, :] = paper
    if left:
        out[:, : left + margin] = paper
    if right:
        out[:, w - right - margin :] = paper
    return out, True


def upright_evidence(gray: np.ndarray) -> float:
    """Log-ratio of ink above text lines (ascenders, capitals) to ink below them (descenders).

    Positive on upright Latin and mixed Cyrillic/Latin text, negative when the page is upside
    down, near zero when the page gives no evidence. Assumes lines are already horizontal.
    """
    small, _ = analysis_view(gray)
    mask = ink_mask(small)
    profile = mask.sum(axis=1).astype(np.float64)
    if profile.max() <= 0:
        return 0.0
    above = below = 0.0
    in_line = profile > 0.02 * mask.shape[1] * 0.05
    rows = np.flatnonzero(np.diff(np.concatenate(([0], in_line.astype(np.int8), [0]))))
    for start, end in zip(rows[::2], rows[1::2]):
        if end - start < 4:
            continue
        band = profile[start:end]
        core = np.flatnonzero(band >= 0.5 * band.max())
        if len(core) == 0:
            continue
        above += float(band[: core[0]].sum())
        below += float(band[core[-1] + 1 :].sum())
    if above + below <= 0:
        return 0.0
    return float(np.log((above + 1.0) / (below + 1.0)))
