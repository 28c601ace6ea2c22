"""The rules scorer: weighted keywords and patterns of each kind over folded text.

Each cue counts once per document, ``title_weight`` times when it first matches within the
first ``title_chars`` characters (where a document names itself); cues matching overlapping
words count once, the heaviest. Scores become a distribution
over kinds with room left for "none of them", so weak or mixed evidence gives a low confidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from classify.kinds import KindSet
from classify.normalize import fold

#: Score mass given to "none of the kinds": a lone weak cue stays uncertain.
NONE_MASS = 4.0


@dataclass(frozen=True)
class RuleScores:
    scores: Mapping[str, float]
    #: probability-like share of each kind (sums to < 1: the rest is "none of them")
    shares: Mapping[str, float]

    @property
    def best(self) -> tuple[str | None, float]:
        if not self.shares:
            return None, 0.0
        kind = max(self.shares, key=lambda k: self.shares[k])
        return kind, self.shares[kind]


def score_text(text: str, kinds: KindSet, *, folded: bool = False) -> RuleScores:
    """Score every kind on a document's text (all pages joined)."""
    body = text if folded else fold(text)
    scores: dict[str, float] = {}
    for kind in kinds.kinds:
        hits: list[tuple[float, int, int]] = []
        for cue in kind.cues:
            m = cue.pattern.search(body)
            if m is not None:
                hits.append((cue.weight * (kinds.title_weight if m.start() < kinds.title_chars else 1.0), m.start(), m.end()))
        # The same words count once: «договор аренды» is not also «аренды» and «договор … аренды».
        total = 0.0
        taken: list[tuple[int, int]] = []
        for weight, start, end in sorted(hits, key=lambda h: -abs(h[0])):
            if weight > 0 and any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            total += weight
        scores[kind.id] = total
    return RuleScores(scores, shares_of(scores, kinds.min_score))


def shares_of(scores: Mapping[str, float], min_score: float) -> dict[str, float]:
    """Scores at or above ``min_score`` as shares: squares over the sum of squares plus
    ``NONE_MASS`` squared. Squaring lets a clear winner stay sure although the body of a memo
    mentions an invoice and an offer."""
    kept = {k: s * s for k, s in scores.items() if s >= min_score}
    total = sum(kept.values()) + NONE_MASS * NONE_MASS
    return {k: s / total for k, s in kept.items()}
