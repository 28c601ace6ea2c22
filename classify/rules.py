"""The rules scorer: weighted keywords and patterns of each kind over folded text.

Each cue counts once per document, ``title_weight`` times when it first matches within the
first ``title_chars`` characters (where a document names itself); cues matching overlapping
words count once, the heaviest. Scores become a distribution
over kinds with room left for "none of them", so weak or mixed evidence gives a low confidence.

A keyword that does not occur as written is looked for again with a few letters wrong
(``fuzzy_spans``): a small phone photo's text has about every second word misread (letters read
as their neighbours in shape: и/н/п, е/с, т/г; words split), and the phrases that name a kind
are long enough to be told apart with a few edits. On the phone-scan samples this took kind
macro-F1 from 0.73/0.70/0.88 to 0.82/0.82/1.00 (1_5/1_6/1_7), flatbed and the other photos
unchanged at 1.00; on held-out generated photos 0.96 -> 0.98 (900 px) and 0.18 -> 0.39 (650 px),
no page moved to a wrong kind (bench/results/photo-kinds.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from classify.kinds import Cue, KindSet
from classify.normalize import fold

#: Score mass given to "none of the kinds": a lone weak cue stays uncertain.
NONE_MASS = 4.0
#: Keywords shorter than this (folded, with spaces) are matched only as written: a short word
#: with a letter wrong is another word.
FUZZY_MIN_CHARS = 8
#: Edits allowed per character of a keyword (rounded down): 1 in 8-11 characters, 2 in 12-16,
#: 3 in 17-22. 0.25 sent a sample to a wrong kind; 0.15 left more misread headings unfound.
FUZZY_RATE = 0.18
#: Characters of a document searched fuzzily (where a document says what it is).
FUZZY_CHARS = 6000
_WORD_START = re.compile(r"(?<![^\W_])[^\W_]")


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


def score_text(text: str, kinds: KindSet, *, folded: bool = False, fuzzy: bool = True) -> RuleScores:
    """Score every kind on a document's text (all pages joined)."""
    body = text if folded else fold(text)
    exact = {id(cue): cue.pattern.search(body) for kind in kinds.kinds for cue in kind.cues}
    spans: dict[int, tuple[int, int]] = {key: (m.start(), m.end()) for key, m in exact.items() if m is not None}
    if fuzzy:
        missing = [cue for kind in kinds.kinds for cue in kind.cues if id(cue) not in spans and cue.phrase]
        spans.update(fuzzy_spans(missing, body[:FUZZY_CHARS]))
    scores: dict[str, float] = {}
    for kind in kinds.kinds:
        hits: list[tuple[float, int, int]] = []
        for cue in kind.cues:
            span = spans.get(id(cue))
            if span is not None:
                hits.append((cue.weight * (kinds.title_weight if span[0] < kinds.title_chars else 1.0), *span))
        scores[kind.id] = _total(hits)
    return RuleScores(scores, shares_of(scores, kinds.min_score))


def _total(hits: list[tuple[float, int, int]]) -> float:
    """The same words count once: «договор аренды» is not also «аренды» and «договор … аренды»."""
    total = 0.0
    taken: list[tuple[int, int]] = []
    for weight, start, end in sorted(hits, key=lambda h: -abs(h[0])):
        if weight > 0 and any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        total += weight
    return total


def fuzzy_spans(cues: Sequence[Cue], body: str) -> dict[int, tuple[int, int]]:
    """{id(cue): (start, end)} of each keyword found in ``body`` at a word start with at most
    ``FUZZY_RATE`` edits per character (Levenshtein; the text may run one letter longer or
    shorter, as a stem's word goes on and OCR drops or splits letters).

    All keywords of one length against all word starts in one rapidfuzz ``cdist`` per window
    length: the starter kinds' rules took 6.3 -> 11.0 ms a document with it (median over the 83
    phone-scan sample texts, at most 25 ms). Only the closest place of each keyword is looked at.
    """
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    wanted = [c for c in cues if c.phrase and len(c.phrase) >= FUZZY_MIN_CHARS]
    starts = [m.start() for m in _WORD_START.finditer(body)]
    if not wanted or not starts:
        return {}
    by_length: dict[int, list[Cue]] = {}
    for cue in wanted:
        by_length.setdefault(len(cue.phrase or ""), []).append(cue)
    found: dict[int, tuple[int, int]] = {}
    for length, group in by_length.items():
        phrases = [c.phrase or "" for c in group]
        best: list[tuple[int, int, int]] = [(length, 0, 0)] * len(group)
        for span in (length, length - 1, length + 1):
            matrix = cdist(phrases, [body[s : s + span] for s in starts], scorer=Levenshtein.distance, workers=1)
            for i, row in enumerate(matrix):
                j = int(row.argmin())
                if int(row[j]) < best[i][0]:
                    best[i] = (int(row[j]), starts[j], starts[j] + span)
        for cue, (distance, start, end) in zip(group, best, strict=True):
            if distance <= int(length * FUZZY_RATE) and not _inflected(cue.phrase or "").match(body, start):
                found[id(cue)] = (start, end)
    return found


@lru_cache(maxsize=1024)
def _inflected(phrase: str) -> re.Pattern[str]:
    """The phrase with every word's ending free. A keyword's inner words must match as written
    («договор аренды» is not «к договору аренды»); one edit would let the fuzzy match take an
    inflected mention of another document for the document's own name."""
    return re.compile(r"[^\W_]*\s*".join(re.escape(word) for word in phrase.split(" ")))


def shares_of(scores: Mapping[str, float], min_score: float) -> dict[str, float]:
    """Scores at or above ``min_score`` as shares: squares over the sum of squares plus
    ``NONE_MASS`` squared. Squaring lets a clear winner stay sure although the body of a memo
    mentions an invoice and an offer."""
    kept = {k: s * s for k, s in scores.items() if s >= min_score}
    total = sum(kept.values()) + NONE_MASS * NONE_MASS
    return {k: s / total for k, s in kept.items()}
