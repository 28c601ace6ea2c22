"""OCR accuracy metrics for bench/ocr_bench.py: pure functions on (recognised, ground truth) text.

* ``normalize`` - Unicode NFC, every run of whitespace (newlines included) becomes one space,
  stripped. Tesseract's line breaks and our ground truth's do not have to agree.
* ``levenshtein`` - edit distance (insert, delete, substitute: cost 1 each), by rapidfuzz
  (``rapidfuzz.distance.Levenshtein``, a project dependency).
* ``cer`` - character error rate: edit distance between the normalised texts / length of the
  normalised ground truth. Can exceed 1.0 when the engine invents text.
* ``order_free`` / ``cer_order_free`` - the same CER on the sorted multiset of words joined by
  single spaces, for ground truth whose line order is not reading order (scribe-benchmark).
* ``word_accuracy`` - order-insensitive bag-of-words accuracy: multiset intersection of the
  recognised and ground-truth words / number of ground-truth words. Case-sensitive; every Unicode
  punctuation character (categories P*) is removed from the words first and words left empty are
  dropped, so "предложений." matches "предложений". Symbols such as "№" are kept.

Group figures in the benchmark are micro-averages: summed edits / summed ground-truth length
(``Score`` carries the parts), so a long page weighs more than a one-line crop.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

__all__ = [
    "Score",
    "cer",
    "cer_order_free",
    "levenshtein",
    "normalize",
    "order_free",
    "score",
    "word_accuracy",
    "words",
]


def normalize(text: str) -> str:
    """NFC, whitespace runs collapsed to one space, ends stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance between ``a`` and ``b`` (insert, delete, substitute: cost 1 each)."""
    return int(Levenshtein.distance(a, b))


def cer(hypothesis: str, truth: str) -> float:
    """Character error rate of ``hypothesis`` against ``truth`` on normalised text."""
    return score(hypothesis, truth).cer


def order_free(text: str) -> str:
    """The text's words (whitespace-separated, punctuation kept) sorted and joined by spaces."""
    return " ".join(sorted(normalize(text).split(" "))) if normalize(text) else ""


def cer_order_free(hypothesis: str, truth: str) -> float:
    """CER on the sorted multiset of words: insensitive to line and column order."""
    return score(hypothesis, truth, order_insensitive=True).cer


def words(text: str) -> list[str]:
    """Words for bag-of-words matching: punctuation removed, case kept, empty words dropped."""
    out = []
    for token in unicodedata.normalize("NFC", text).split():
        w = "".join(ch for ch in token if not unicodedata.category(ch).startswith("P"))
        if w:
            out.append(w)
    return out


def word_accuracy(hypothesis: str, truth: str) -> float:
    """Share of ground-truth words found in the hypothesis, counted as multisets (order-free)."""
    return score(hypothesis, truth).word_accuracy


@dataclass(frozen=True)
class Score:
    """Counts behind CER and word accuracy; add Scores to micro-average a group of pages."""

    edits: int = 0
    chars: int = 0
    words_found: int = 0
    words_total: int = 0

    @property
    def cer(self) -> float:
        return self.edits / self.chars if self.chars else (0.0 if not self.edits else float("inf"))

    @property
    def word_accuracy(self) -> float:
        return self.words_found / self.words_total if self.words_total else 1.0

    def __add__(self, other: Score) -> Score:
        return Score(
            self.edits + other.edits,
            self.chars + other.chars,
            self.words_found + other.words_found,
            self.words_total + other.words_total,
        )


def score(hypothesis: str, truth: str, *, order_insensitive: bool = False) -> Score:
    """Edits and word matches of one page; CER order-insensitive when asked (word accuracy always is)."""
    prep = order_free if order_insensitive else normalize
    h, t = prep(hypothesis), prep(truth)
    hw, tw = Counter(words(hypothesis)), Counter(words(truth))
    found = sum(min(n, hw[w]) for w, n in tw.items())
    return Score(levenshtein(h, t), len(t), found, sum(tw.values()))
