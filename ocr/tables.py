"""Read a ruled table row by row: the plain text gets one line per table row, cells in order.

Tesseract reads a table with its own page layout: a cell of two lines becomes two text lines,
and where the cells of a row stand far apart it may read a column down before the next one,
so an item's name, quantity and price end up lines apart. Here the rows come from the ruling
lines found on the page (ocr/rules.py): a row is the band between two horizontal rules that a
vertical rule crosses, its cells the stretches between the vertical rules. Tesseract's words
(from its hOCR) are put in the row and cell their box's centre falls in, and the row is
written as one line, cells left to right separated by a tab, each cell's words in reading
order.

Only the plain text is rebuilt: the words, their boxes and confidences, the hOCR and the
searchable PDF's text layer stay as Tesseract gave them (the PDF places each word at its box, so
what is found and highlighted there does not change). Text outside the tables keeps Tesseract's
lines and paragraphs. When the text cannot be matched line for line with the hOCR (another
engine's text) it is returned unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ocr.hocr import HocrWord, parse_hocr
from ocr.model import PageText
from ocr.rules import Rules, Segment

__all__ = ["Row", "in_row_order", "table_rows"]

#: A row is at most this tall (inches); a taller band between two rules is not a table row.
MAX_ROW_INCHES = 1.2


@dataclass(frozen=True, slots=True)
class Row:
    """One table row: its box and the x positions of the vertical rules inside it."""

    left: int
    top: int
    right: int
    bottom: int
    cuts: tuple[int, ...]

    def cell(self, x: float) -> int:
        return sum(1 for c in self.cuts if c < x)

    def holds(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.top <= y <= self.bottom


def table_rows(rules: Rules, dpi: int) -> list[Row]:
    """The table rows the rules draw, top to bottom."""
    tol = max(4, dpi // 40)
    rows: list[Row] = []
    hs = sorted(rules.horizontal, key=lambda s: s.y)
    for i, top in enumerate(hs):
        below = [b for b in hs[i + 1 :] if b.y - top.y > tol and _overlap(top, b) > 0]
        if not below:
            continue
        bottom = min(below, key=lambda b: b.y)
        if bottom.y - top.y > MAX_ROW_INCHES * dpi:
            continue
        left, right = max(top.x0, bottom.x0), min(top.x1, bottom.x1)
        cuts = sorted(
            int(v.x)
            for v in rules.vertical
            if v.y0 <= top.y + tol and v.y1 >= bottom.y - tol and left - tol <= v.x <= right + tol
        )
        if not cuts:
            continue  # two underlines, not a row of cells
        rows.append(Row(left, int(top.y), right, int(bottom.y), tuple(cuts)))
    return _distinct(rows)


def _overlap(a: Segment, b: Segment) -> int:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def _distinct(rows: list[Row]) -> list[Row]:
    """Rows whose bands overlap (a rule across part of a row) keep the narrower band."""
    rows.sort(key=lambda r: (r.top, r.bottom - r.top))
    out: list[Row] = []
    for r in rows:
        if out and r.top == out[-1].top and _same_span(r, out[-1]):
            continue
        out.append(r)
    return out


def _same_span(a: Row, b: Row) -> bool:
    return min(a.right, b.right) - max(a.left, b.left) > 0.5 * min(a.right - a.left, b.right - b.left)


def in_row_order(text: PageText, rules: Rules, dpi: int) -> PageText:
    """``text`` with its plain text rewritten: one line per table row (see the module's docstring)."""
    rows = table_rows(rules, dpi)
    if not rows:
        return text
    lines = _hocr_lines(parse_hocr(text.hocr))
    plain = [ln for ln in text.text.splitlines()]
    if [" ".join(w.text for w in ws) for ws in lines] != [" ".join(ln.split()) for ln in plain if ln.strip()]:
        return text  # the text is not Tesseract's line for line: leave it
    placed: dict[int, list[tuple[int, HocrWord]]] = {}
    out: list[str] = []
    it = iter(lines)
    for ln in plain:
        if not ln.strip():
            out.append(ln)
            continue
        rest = []
        for w in next(it):
            r = _row_of(w, rows, dpi)
            if r is None:
                rest.append(w.text)
                continue
            if r not in placed:
                out.append(f"\0{r}")  # where the row's line goes: where its first word was
            placed.setdefault(r, []).append((rows[r].cell(_cx(w)), w))
        if rest:
            out.append(" ".join(rest))
    rendered = [_row_text(placed[int(ln[1:])]) if ln.startswith("\0") else ln for ln in out]
    return replace(text, text="\n".join(rendered))


def _hocr_lines(words: tuple[HocrWord, ...]) -> list[list[HocrWord]]:
    """Words grouped by the hOCR line they stand on, in document order."""
    out: list[list[HocrWord]] = []
    last: object = object()
    for w in words:
        if w.line is not last or not out:
            out.append([])
            last = w.line
        out[-1].append(w)
    return out


def _cx(w: HocrWord) -> float:
    return (w.bbox[0] + w.bbox[2]) / 2 if w.bbox else -1.0


def _row_of(w: HocrWord, rows: list[Row], dpi: int) -> int | None:
    """The row a word's centre falls in; a word just outside the table on a row's level (the
    «Итого» label left of a TORG-12 total row, which has no cell of its own) joins that row."""
    if w.bbox is None:
        return None
    x, y = _cx(w), (w.bbox[1] + w.bbox[3]) / 2
    inside = next((i for i, r in enumerate(rows) if r.holds(x, y)), None)
    if inside is not None:
        return inside
    near = [i for i, r in enumerate(rows) if r.top <= y <= r.bottom and (r.left - dpi <= x <= r.right + dpi)]
    return near[0] if len(near) == 1 else None


def _row_text(words: list[tuple[int, HocrWord]]) -> str:
    """Cells left to right, tab-separated; in a cell, lines top to bottom, words left to right."""
    cells: dict[int, list[HocrWord]] = {}
    for cell, w in words:
        cells.setdefault(cell, []).append(w)
    return "\t".join(" ".join(w.text for w in _reading_order(cells[c])) for c in sorted(cells))


def _reading_order(words: list[HocrWord]) -> list[HocrWord]:
    """Words of one cell: grouped into lines by vertical overlap, then left to right."""
    lines: list[list[HocrWord]] = []
    for w in sorted(words, key=lambda w: w.bbox[1] if w.bbox else 0):
        box = w.bbox or (0, 0, 0, 0)
        mid = (box[1] + box[3]) / 2
        line = next((ln for ln in lines if ln[0].bbox and ln[0].bbox[1] <= mid <= ln[0].bbox[3]), None)
        if line is None:
            lines.append([w])
        else:
            line.append(w)
    return [w for ln in lines for w in sorted(ln, key=lambda w: w.bbox[0] if w.bbox else 0)]
