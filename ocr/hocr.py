"""Read words, boxes and confidences out of Tesseract's hOCR."""

from __future__ import annotations

import html
import re

from ocr.model import Word

_WORD = re.compile(
    r"<span class=['\"]ocrx_word['\"][^>]*?title=['\"]([^'\"]*)['\"][^>]*>(.*?)</span>", re.S
)
_BBOX = re.compile(r"bbox (\d+) (\d+) (\d+) (\d+)")
_CONF = re.compile(r"x_wconf (\d+(?:\.\d+)?)")
_TAG = re.compile(r"<[^>]+>")


def parse_words(hocr: str) -> tuple[Word, ...]:
    words: list[Word] = []
    for title, inner in _WORD.findall(hocr):
        text = html.unescape(_TAG.sub("", inner)).strip()
        if not text:
            continue
        box = _BBOX.search(title)
        conf = _CONF.search(title)
        words.append(
            Word(
                text=text,
                box=tuple(int(v) for v in box.groups()) if box else (0, 0, 0, 0),  # type: ignore[arg-type]
                confidence=float(conf.group(1)) / 100.0 if conf else 0.0,
            )
        )
    return tuple(words)


def mean_confidence(words: tuple[Word, ...]) -> float:
    """Mean word confidence weighted by word length (long words say more about a page)."""
    total = sum(len(w.text) for w in words)
    if not total:
        return 0.0
    return sum(w.confidence * len(w.text) for w in words) / total
