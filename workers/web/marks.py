"""The words of a search on a card: marked in the page text, and as boxes on the page image.

Words match as the index matched them (``search.analysis``): a word is marked when its stem is
one the query asked for («договорами» for «договор»), or it starts with a prefix of the query
(«догов*»), or it stands in a run that is one of the query's phrases. The page image's boxes
come from the page's hOCR: word boxes in the pixels of the page as recognised, which the page
image shows whole; as percentages of that page they fall on the image at any width.

A field's box: fields keep the character offset and length of their value in the page text;
the hOCR words are found in the page text in order, and the words under the field's span give
its box.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from ocr.hocr import HocrWord, parse_hocr
from search.analysis import tokens
from search.highlight import marked_indices
from search.query import Marks, QueryError, parse_query

__all__ = ["Box", "PageLayout", "QueryWords", "field_box", "hit_boxes", "marked_text", "page_layout"]

_PAGE = re.compile(r"class=['\"]ocr_page['\"][^>]*?title=(['\"])(.*?)\1")
_BBOX = re.compile(r"bbox (-?\d+) (-?\d+) (-?\d+) (-?\d+)")


@dataclass(frozen=True)
class Box:
    """A rectangle on a page image, in percent of the image's width and height."""

    left: float
    top: float
    width: float
    height: float
    #: the page's word(s) it covers
    text: str = ""

    @property
    def style(self) -> str:
        return f"left:{self.left:.3f}%;top:{self.top:.3f}%;width:{self.width:.3f}%;height:{self.height:.3f}%"


@dataclass(frozen=True)
class QueryWords:
    """What a query asks to see marked: lemmas, prefixes, typo-tolerant words and phrases."""

    marks: Marks = Marks()

    @classmethod
    def of(cls, query: str) -> QueryWords:
        """The words of ``query`` (none for a query that cannot be read)."""
        try:
            parsed = parse_query(query)
        except QueryError:
            return cls()
        return cls(parsed.marks())

    def __bool__(self) -> bool:
        return bool(self.marks)

    def matches(self, folded: Sequence[str]) -> set[int]:
        """Indices of the words (folded, in order) the query marks (as search highlights do)."""
        return marked_indices(list(folded), self.marks)


def marked_text(text: str, words: QueryWords) -> Markup:
    """``text`` escaped, with the words of the query in ``<mark>``."""
    return marked_and_count(text, words)[0]


def marked_and_count(text: str, words: QueryWords) -> tuple[Markup, int]:
    """``marked_text`` and how many words it marked."""
    if not words:
        return escape(text), 0
    found = list(tokens(text))
    marked = words.matches([t.folded for t in found])
    out: list[str] = []
    pos = 0
    for index in sorted(marked):
        token = found[index]
        out += [escape(text[pos : token.start]), Markup("<mark>"), escape(text[token.start : token.end]), Markup("</mark>")]
        pos = token.end
    out.append(escape(text[pos:]))
    return Markup("").join(out), len(marked)


@dataclass(frozen=True)
class PageLayout:
    """A page's size in pixels (as recognised) and its words with their boxes."""

    width: int
    height: int
    words: tuple[HocrWord, ...]

    def box(self, boxes: Sequence[tuple[int, int, int, int]], text: str = "") -> Box:
        """The rectangle around ``boxes``, in percent of the page."""
        left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
        right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
        return Box(
            100 * left / self.width, 100 * top / self.height,
            100 * (right - left) / self.width, 100 * (bottom - top) / self.height, text,
        )  # fmt: skip


def page_layout(hocr: str) -> PageLayout | None:
    """The layout of a page's hOCR; None when it names no page size."""
    page = _PAGE.search(hocr)
    found = _BBOX.search(page.group(2)) if page else None
    if found is None:
        return None
    left, top, right, bottom = (int(v) for v in found.groups())
    if right <= left or bottom <= top:
        return None
    return PageLayout(right - left, bottom - top, parse_hocr(hocr))


def hit_boxes(layout: PageLayout, words: QueryWords) -> list[Box]:
    """A box for every word of the page the query marks."""
    if not words:
        return []
    owners: list[int] = []
    folded: list[str] = []
    for index, word in enumerate(layout.words):
        for token in tokens(word.text):
            owners.append(index)
            folded.append(token.folded)
    marked = sorted({owners[i] for i in words.matches(folded)})
    return [layout.box([box], layout.words[i].text) for i in marked if (box := layout.words[i].bbox) is not None]


def _word_spans(layout: PageLayout, text: str) -> list[tuple[int, int, HocrWord]]:
    """Where each hOCR word stands in the page text, found in order (words not found are left out)."""
    spans = []
    pos = 0
    for word in layout.words:
        at = text.find(word.text, pos)
        if at < 0:
            continue
        spans.append((at, at + len(word.text), word))
        pos = at + len(word.text)
    return spans


def field_box(layout: PageLayout, text: str, offset: int, length: int) -> Box | None:
    """The box around the words of the page text from ``offset`` for ``length`` characters."""
    end = offset + max(length, 1)
    covered = [w for start, stop, w in _word_spans(layout, text) if start < end and stop > offset and w.bbox]
    if not covered:
        return None
    return layout.box([w.bbox for w in covered if w.bbox is not None], text[offset:end])
