"""One order for equal scores, whichever backend found them.

Each backend puts hits of equal score in its own index order: insertion order within a segment,
segments in an order their merges decided. tantivy and Elasticsearch merge at different times,
so after a few commits of the index feed the same cards tie in a different order (fuzzy and
prefix words score a constant, so for them every hit ties). And scores the two compute alike
can still differ in the last bits of a float (sums taken in another order), which turns a tie
in one into a strict order in the other.

So both rank by the score to ``DIGITS`` significant digits, then newest registration first,
then card id: an order of the cards themselves, not of an index. A backend fetches
``MARGIN`` hits beyond the page; if the last of them still ties with the page's last hit, the
tie group may go on past what was fetched, and it fetches up to ``FURTHER`` beyond the page
once more. A tie group longer than that (a prefix matching thousands of cards) is cut where
the backend's own order cuts it: there the backends may still differ.
"""

from __future__ import annotations

from collections.abc import Callable

from search.backend import MAX_WINDOW, RawHit

__all__ = ["DIGITS", "FURTHER", "MARGIN", "first_fetch", "page"]

#: Scores equal to this many significant digits are a tie (float32 sums differ in the 7th).
DIGITS = 5
MARGIN = 10
FURTHER = 100


def _rounded(score: float) -> float:
    return float(f"{score:.{DIGITS}g}")


def _newest_first(registered_at: object) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in str(registered_at or ""))


def _key(hit: RawHit) -> tuple[float, tuple[int, ...], str]:
    return (-_rounded(hit.score), _newest_first(hit.stored.get("registered_at")), hit.card_id)


def first_fetch(offset: int, limit: int) -> int:
    """How many hits (from the first) a backend fetches for the page ``offset``, ``limit``."""
    return min(offset + limit + MARGIN, MAX_WINDOW)


def _settled(hits: list[RawHit], ordered: list[RawHit], fetched: int, end: int) -> bool:
    """True if no hit beyond the ``fetched`` can tie with the page's last (``hits`` in the
    backend's order, best first, so its last scores lowest)."""
    if len(hits) < fetched or len(ordered) < end or fetched >= MAX_WINDOW:
        return True
    return _rounded(hits[-1].score) < _rounded(ordered[end - 1].score)


def page(hits: list[RawHit], offset: int, limit: int, fetch: Callable[[int], list[RawHit]]) -> list[RawHit]:
    """The page from ``hits`` (the first ``first_fetch(offset, limit)`` in the backend's order),
    ties in one order; ``fetch(n)`` gets the first ``n`` again when a tie group may go on."""
    end = offset + limit
    ordered = sorted(hits, key=_key)
    if not _settled(hits, ordered, first_fetch(offset, limit), end):
        ordered = sorted(fetch(min(end + FURTHER, MAX_WINDOW)), key=_key)
    return ordered[offset:end]
