"""The statistical kind model: TF-IDF over character n-grams of folded text, logistic regression.

Character n-grams within words survive OCR noise that breaks whole words. Only kinds with at
least ``min_per_kind`` examples are learned; the model says nothing about the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from classify.normalize import fold

#: Characters of a document the model reads (the first pages say what a document is).
MAX_CHARS = 6000


@dataclass
class KindModel:
    """A trained model and what it was trained on."""

    pipeline: Any
    kinds: tuple[str, ...]
    #: verified cards in the catalog when it was trained (the retraining threshold counts from here)
    trained_on: int
    examples: int
    version: int = 0
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def probabilities(self, text: str) -> dict[str, float]:
        proba = self.pipeline.predict_proba([prepare(text)])[0]
        return {str(k): float(p) for k, p in zip(self.pipeline.classes_, proba, strict=True)}


class NotEnoughExamples(ValueError):
    """Fewer than two kinds have enough verified examples: rules alone decide."""


def prepare(text: str) -> str:
    return fold(text[:MAX_CHARS])


def trainable(labels: Sequence[str], min_per_kind: int) -> set[str]:
    counts = Counter(labels)
    return {k for k, n in counts.items() if n >= min_per_kind}


def train(texts: Sequence[str], labels: Sequence[str], *, min_per_kind: int = 3, trained_on: int = 0) -> KindModel:
    """Fit a model on (text, kind) pairs; raises NotEnoughExamples when there is too little."""
    keep = trainable(labels, min_per_kind)
    pairs = [(prepare(t), k) for t, k in zip(texts, labels, strict=True) if k in keep]
    if len(keep) < 2:
        has = "has" if len(keep) == 1 else "have"
        raise NotEnoughExamples(
            f"the model needs 2 kinds with {min_per_kind} or more verified cards each, and {len(keep)} {has} "
            "that many: verify more cards"
        )
    # scikit-learn is imported only to train (and by unpickling a model): processes that never
    # see a model do not pay for it at start-up.
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]

    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=1, max_features=60000)),
            ("clf", LogisticRegression(C=20.0, max_iter=2000, class_weight="balanced")),
        ]
    )
    pipeline.fit([t for t, _ in pairs], [k for _, k in pairs])
    return KindModel(pipeline, tuple(sorted(keep)), trained_on=trained_on, examples=len(pairs))


def combine(
    rule_shares: Mapping[str, float], model_proba: Mapping[str, float], model_weight: float
) -> dict[str, float]:
    """One distribution from the rules' shares and the model's probabilities.

    The model speaks only for the kinds it learned; the mass the rules give the other kinds is
    kept out of its reach, so a kind without training data can still win on strong rules. Its
    weight is ``model_weight`` times its own top probability: an unsure (flat) model defers to
    the rules instead of diluting them.
    """
    model_weight *= max(model_proba.values(), default=0.0)
    unknown_mass = sum(s for k, s in rule_shares.items() if k not in model_proba)
    adjusted = {k: p * (1.0 - unknown_mass) for k, p in model_proba.items()}
    adjusted.update({k: s for k, s in rule_shares.items() if k not in model_proba})
    kinds = set(adjusted) | set(rule_shares)
    return {
        k: model_weight * adjusted.get(k, 0.0) + (1.0 - model_weight) * rule_shares.get(k, 0.0) for k in kinds
    }
