"""Ruling lines of forms and tables: find the long horizontal and vertical lines, and remove them.

Tesseract's page segmentation takes a table's ruling lines for separators or for text: cells
are cut into separate blocks, lines are read as rows of «—» or «|», and letters touching a rule
are lost. Here the binarised page is opened with long thin kernels (half an inch across, a
third of an inch down: longer than any letter stroke of body text, shorter than the lines of a
cell), and the vertical rules' pixels are painted as paper; the horizontal ones Tesseract finds
and drops by itself, and keeping them kept the rows apart (measured in ``remove_rules``). Where
a letter crosses a rule, the gap left in the letter is closed again from the ink on both sides
of the line. A page without a grid (no rules, or horizontal ones alone) comes back untouched:
``find_rules`` gives None, and the page gets no "rules" step. Cost on a 300 dpi A4 page: about
0.1 s where there are no long horizontal lines, 0.3-0.6 s on a form.

The positions of the lines are kept (``Rules.horizontal``/``vertical`` as segments), so the
table they draw can be read row by row afterwards (ocr/tables.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Rules", "Segment", "find_rules", "remove_rules"]

#: A rule is at least this long: horizontal in inches, vertical in inches.
H_MIN_INCHES = 0.5
V_MIN_INCHES = 0.3
#: A rule is at most this thick (inches): thicker strokes are solid areas or bold letters.
MAX_THICK_INCHES = 0.04
#: A page darker than this share is not dark-on-light (a slide in white on a dark ground, whose
#: dithered background read as hundreds of rules: scribe slide_01 F1 0.98 -> 0.78); printed
#: forms and tables are 3-15 % ink.
MAX_DARK_SHARE = 0.35
#: More lines than this in one direction is texture or noise, not a form (a dense 2-NDFL
#: page has 175 horizontal and 28 vertical; a binarised dithered slide gave 1028 and 3454).
MAX_LINES = 500
#: A page has rules when its horizontal rules are together at least this many inches long.
MIN_TOTAL_INCHES = 4.0


@dataclass(frozen=True, slots=True)
class Segment:
    """One ruling line: left, top, right, bottom in pixels (thin along one axis)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def y(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def x(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True, slots=True)
class Rules:
    """The ruling lines of a page and the mask of their pixels (uint8, 255 on a line)."""

    horizontal: tuple[Segment, ...]
    vertical: tuple[Segment, ...]
    mask: np.ndarray
    #: the same for each direction apart (the repair closes gaps across each)
    h_mask: np.ndarray
    v_mask: np.ndarray


def _dark_share(gray: np.ndarray) -> float:
    """The share of the page darker than its Otsu threshold (on every fourth pixel)."""
    small = np.ascontiguousarray(gray[::4, ::4])
    threshold, _ = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return float(np.mean(small <= threshold))  # <=: on a binarised page Otsu's threshold is 0


def _ink(gray: np.ndarray) -> np.ndarray:
    """Ink as 255 on 0: a local threshold, so shading on photos and grey rules both count."""
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)


def _segments(
    mask: np.ndarray, horizontal: bool, min_len: int, max_thick: int, meets: tuple[Segment, ...] | None = None
) -> tuple[np.ndarray, list[Segment]]:
    """Components of an opened mask that are long and thin; the mask keeps only those.

    ``meets``: vertical components must also end on or cross one of these horizontal rules, as
    the lines of a grid do (a tall letter's stem never does), within a few pixels.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    x, y, w, h, area = (stats[:, i].astype(np.int64) for i in range(5))
    length = w if horizontal else h
    # A tilted line's box is thicker than the line: judge thickness by area / length.
    keep = (length >= min_len) & (area <= max_thick * np.maximum(length, 1))
    keep[0] = False
    if meets is not None:
        tol = 2 * max_thick
        for i in np.flatnonzero(keep):
            cx, top, bottom = x[i] + w[i] / 2, y[i], y[i] + h[i] - 1
            keep[i] = any(
                s.x0 - tol <= cx <= s.x1 + tol and top - tol <= s.y <= bottom + tol for s in meets
            )
    found = np.flatnonzero(keep)
    out = [Segment(int(x[i]), int(y[i]), int(x[i] + w[i] - 1), int(y[i] + h[i] - 1)) for i in found]
    if len(found) == n - 1:
        return mask, out
    return (keep[labels] * np.uint8(255)).astype(np.uint8), out


def find_rules(gray: np.ndarray, dpi: int) -> Rules | None:
    """The page's ruling lines, or None when it has too few to be a form or a table.

    The lengths are in inches, and at least a fortieth (vertical) or a twenty-fifth
    (horizontal) of the page's long side: images whose stated resolution is too low (the
    scribe-benchmark pages say 96 dpi at about 230) would otherwise take letter stems for rules.
    """
    dpi = max(dpi, 70)
    side = max(gray.shape[:2])
    if _dark_share(gray) > MAX_DARK_SHARE:
        return None  # light text on a dark ground: the gaps between letters look like rules
    ink = _ink(gray)
    h_len = max(int(H_MIN_INCHES * dpi), side // 25)
    v_len = max(int(V_MIN_INCHES * dpi), side // 40)
    max_thick = max(3, int(MAX_THICK_INCHES * dpi))
    h_open = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    if cv2.countNonZero(h_open) < MIN_TOTAL_INCHES * dpi:
        return None  # no long horizontal ink at all: a page of text (the common case, ~0.1 s)
    h_mask, horizontal = _segments(h_open, True, h_len, max_thick)
    if sum(s.x1 - s.x0 for s in horizontal) < MIN_TOTAL_INCHES * dpi or len(horizontal) < 2:
        return None
    v_open = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    v_mask, vertical = _segments(v_open, False, v_len, max_thick, tuple(horizontal))
    # Without vertical rules there is nothing to remove (horizontal ones stay, see remove_rules)
    # and no cells to read by: a letter with a rule under its heading, a booktabs-style table.
    if not vertical or len(vertical) > MAX_LINES or len(horizontal) > MAX_LINES:
        return None
    horizontal.sort(key=lambda s: (s.y, s.x0))
    vertical.sort(key=lambda s: (s.x, s.y0))
    return Rules(tuple(horizontal), tuple(vertical), cv2.bitwise_or(h_mask, v_mask), h_mask, v_mask)


def remove_rules(gray: np.ndarray, rules: Rules, *, horizontal: bool = False) -> np.ndarray:
    """The page with its vertical rules (and horizontal ones when asked) painted as paper.

    Why vertical only by default: on generated ruled invoices (bench/forms_bench.py) removing
    every rule made Tesseract split the table into column blocks and drop sparse columns
    (quantities, row numbers) as noise, while the horizontal rules alone it finds and drops by
    itself and reads each row as one line; the vertical rules are what it reads as «|», «1»
    or «l» inside rows.

    The line pixels grow by two pixels (anti-aliased edges would be left as a grey hairline).
    A pixel of a rule with ink on both sides of it across the rule (a gap of the rule plus the
    two grown pixels each side, closed by a kernel one pixel longer) belongs to a letter
    crossing it and is kept.
    """
    ink = _ink(gray)
    grow = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
    v_line = cv2.dilate(rules.v_mask, grow)
    h_line = cv2.dilate(rules.h_mask, grow) if horizontal else np.zeros_like(v_line)
    lines = cv2.bitwise_or(h_line, v_line)
    rest = cv2.bitwise_and(ink, cv2.bitwise_not(lines))
    reach = 6 + max(_thickness(rules.horizontal, True), _thickness(rules.vertical, False))
    across_h = cv2.morphologyEx(rest, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, reach)))
    across_v = cv2.morphologyEx(rest, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (reach, 1)))
    crossing = cv2.bitwise_or(cv2.bitwise_and(across_h, h_line), cv2.bitwise_and(across_v, v_line))
    erase = cv2.bitwise_and(lines, cv2.bitwise_not(crossing))
    out = gray.copy()
    out[erase > 0] = int(np.percentile(gray[::7, ::7], 90))  # the paper's own tone
    return out


def _thickness(segments: tuple[Segment, ...], horizontal: bool) -> int:
    """The median thickness of the lines (their boxes' short side), in pixels."""
    if not segments:
        return 1
    sides = [(s.y1 - s.y0 + 1) if horizontal else (s.x1 - s.x0 + 1) for s in segments]
    return int(np.median(sides))
