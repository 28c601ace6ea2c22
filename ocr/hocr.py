"""Read Tesseract's hOCR: every word with its text, box, confidence and the line it stands on.

The one hOCR reader of the package: the engines take their ``Word``s from it
(``parse_words``) and the searchable-PDF page (ocr/textpdf.py) places its invisible text with
it (``parse_hocr``, which keeps each word's line geometry). ``hocr_document`` wraps one page's
hOCR in the document Tesseract's hOCR renderer writes around it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ocr.model import Word

__all__ = ["HocrLine", "HocrWord", "hocr_document", "mean_confidence", "parse_hocr", "parse_words"]

Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class HocrLine:
    """A text line (``ocr_line``, ``ocr_header``, ``ocr_caption`` or ``ocr_textfloat``)."""

    #: left, top, right, bottom in pixels
    bbox: Box
    #: the baseline: y = bottom + offset + slope * (x - left), in pixels with y down
    slope: float
    offset: float
    #: the height of a lower-case letter (the line's box height when Tesseract gives none)
    x_size: float


@dataclass(frozen=True, slots=True)
class HocrWord:
    text: str
    #: left, top, right, bottom in pixels; None when the word's title has no bbox
    bbox: Box | None
    #: 0..1 (``x_wconf`` / 100; 0 when missing)
    confidence: float
    #: the line the word stands on; None for a word outside any line
    line: HocrLine | None


_LINE_CLASSES = "ocr_line|ocr_header|ocr_caption|ocr_textfloat"
_LINE = re.compile(rf"<span class=['\"](?:{_LINE_CLASSES})['\"][^>]*?title=['\"]([^'\"]*)['\"]")
_WORD = re.compile(r"<span class=['\"]ocrx_word['\"][^>]*?title=['\"]([^'\"]*)['\"][^>]*>(.*?)</span>", re.S)
_BBOX = re.compile(r"bbox (-?\d+) (-?\d+) (-?\d+) (-?\d+)")
_BASELINE = re.compile(r"baseline (-?[\d.]+) (-?[\d.]+)")
_XSIZE = re.compile(r"x_size ([\d.]+)")
_CONF = re.compile(r"x_wconf (\d+(?:\.\d+)?)")
_TAG = re.compile(r"<[^>]+>")


# What Tesseract's hOCR renderer writes around each page (GetHOCRText gives the page alone).
_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title></title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name='ocr-system' content='{system}' />
  <meta name='ocr-capabilities' content='ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_dir ocrp_lang ocrp_wconf'/>
 </head>
 <body>
"""
_TAIL = """ </body>
</html>
"""


def hocr_document(page: str, system: str) -> str:
    """A one-page hOCR document: ``page`` (an ``ocr_page`` div) under Tesseract's head naming ``system``."""
    return _HEAD.format(system=html.escape(system)) + page + _TAIL


def parse_hocr(hocr: str) -> tuple[HocrWord, ...]:
    """Every word with text, in document order (words that are only spaces are left out)."""
    lines = [(m.start(), _line(m.group(1))) for m in _LINE.finditer(hocr)]
    words: list[HocrWord] = []
    li = -1
    for m in _WORD.finditer(hocr):
        while li + 1 < len(lines) and lines[li + 1][0] < m.start():
            li += 1
        text = html.unescape(_TAG.sub("", m.group(2))).strip()
        if not text:
            continue
        title = m.group(1)
        conf = _CONF.search(title)
        words.append(
            HocrWord(
                text=text,
                bbox=_bbox(title),
                confidence=float(conf.group(1)) / 100.0 if conf else 0.0,
                line=lines[li][1] if li >= 0 else None,
            )
        )
    return tuple(words)


def parse_words(hocr: str) -> tuple[Word, ...]:
    """The page's words as the recognition result carries them (a missing box is all zeros)."""
    return tuple(Word(text=w.text, box=w.bbox or (0, 0, 0, 0), confidence=w.confidence) for w in parse_hocr(hocr))


def mean_confidence(words: tuple[Word, ...]) -> float:
    """Mean word confidence weighted by word length (long words say more about a page)."""
    total = sum(len(w.text) for w in words)
    if not total:
        return 0.0
    return sum(w.confidence * len(w.text) for w in words) / total


def _bbox(title: str) -> Box | None:
    m = _BBOX.search(title)
    if m is None:
        return None
    left, top, right, bottom = (int(v) for v in m.groups())
    return left, top, right, bottom


def _line(title: str) -> HocrLine | None:
    bbox = _bbox(title)
    if bbox is None:
        return None
    base = _BASELINE.search(title)
    slope, offset = (float(base.group(1)), float(base.group(2))) if base else (0.0, 0.0)
    xs = _XSIZE.search(title)
    x_size = float(xs.group(1)) if xs else float(bbox[3] - bbox[1])
    return HocrLine(bbox, slope, offset, x_size)
