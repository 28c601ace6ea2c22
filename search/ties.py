"""One order for equal scores, whichever backend found them.

Each backend puts hits of equal score in its own index order: insertion order within a segment,
segments in an order their merges decided. tantivy and Elasticsearch merge at different times,
so after a few commits of the index feed the same cards tie in a different order (fuzzy and
prefix words score a constant, so for them every hit ties). And scores the two compute alike
can still differ in the last bits of a float (sums taken in another order), which turns a tie
in one into a strict order in the other.

So both rank by the score to ``DIGITS`` significant digits, then by card id: an order of the
cards themselves, not of an index. A backend fetches a window of ``MARGIN`` hits either side of
the page; if a hit at the window's edge still ties with the page's first or last hit, the tie
group may go on past the window, and it fetches ``FURTHER`` either side once more, ids and
scores only (``Wider``), then the stored documents of the page's hits it did not have (``Fill``).
A tie group longer than that is cut where the backend's own order cuts it, and where the whole
window ties and more cards match than the wider window holds (a prefix or a typo-tolerant word,
constant scores, over thousands of cards) the wider window is not even asked for: there the
backends may still differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from search.backend import MAX_WINDOW, RawHit

__all__ = ["DIGITS", "FURTHER", "MARGIN", "Fill", "Wider", "page", "window"]

#: Scores equal to this many significant digits are a tie (float32 sums differ in the 7th).
DIGITS = 5
MARGIN = 5
FURTHER = 50
#: ``wider(start, count)``: the backend's hits ``start`` .. ``start + count`` in its own order,
#: their stored documents left empty (ids and scores are all a wider window needs).
Wider = Callable[[int, int], list[RawHit]]
#: ``fill(hits)``: the same hits with their stored documents.
Fill = Callable[[list[RawHit]], list[RawHit]]


def _rounded(score: float) -> float:
    return float(f"{score:.{DIGITS}g}")


def _key(hit: RawHit) -> tuple[float, str]:
    return (-_rounded(hit.score), hit.card_id)


def window(offset: int, limit: int, margin: int = MARGIN) -> tuple[int, int]:
    """(start, count): the hits a backend fetches, in its own order, for the page ``offset``,
    ``limit``: the page and ``margin`` either side."""
    start = max(0, offset - margin)
    return start, min(offset + limit + margin, MAX_WINDOW) - start


def _settled(hits: list[RawHit], start: int, count: int, offset: int, end: int) -> bool:
    """True if no hit outside the window can tie with the page's first or last hit (``hits``:
    the window in the backend's order, best first)."""
    first, last = offset - start, min(end, start + len(hits)) - start - 1
    if first > last:  # the page is past the last hit
        return True
    before = start == 0 or _rounded(hits[0].score) > _rounded(hits[first].score)
    after = len(hits) < count or start + count >= MAX_WINDOW or _rounded(hits[-1].score) < _rounded(hits[last].score)
    return before and after


def _hopeless(hits: list[RawHit], total: int, offset: int, limit: int) -> bool:
    """True if every hit of the window ties and more cards match than a wider window holds:
    a constant score (prefix, fuzzy) over many cards, which no wider window settles."""
    start, count = window(offset, limit, FURTHER)
    return bool(hits) and _rounded(hits[0].score) == _rounded(hits[-1].score) and total > start + count


def page(hits: list[RawHit], offset: int, limit: int, wider: Wider, fill: Fill, total: int) -> list[RawHit]:
    """The page, ties in one order, from ``hits``: the backend's ``window(offset, limit)`` of
    ``total`` matches; a wider window (``wider``, then ``fill``) when a tie group may run past
    that one and a wider one may hold it."""
    start, count = window(offset, limit)
    if _settled(hits, start, count, offset, offset + limit) or _hopeless(hits, total, offset, limit):
        return sorted(hits, key=_key)[offset - start : offset + limit - start]
    start, count = window(offset, limit, FURTHER)
    chosen = sorted(wider(start, count), key=_key)[offset - start : offset + limit - start]
    have = {h.card_id: h for h in hits}
    missing = fill([h for h in chosen if h.card_id not in have])
    have.update((h.card_id, h) for h in missing)
    return [replace(have[h.card_id], score=h.score) for h in chosen if h.card_id in have]
