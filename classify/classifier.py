"""One document in, its kind, fields and review reasons out: rules, model and extractors together.

A ``Classifier`` holds the kinds (loaded once) and the current model; ``refresh`` swaps in a
newer model file when one appears (another process retrained), and ``retrain`` trains a new
version from verified cards when enough have arrived. The old model serves until the new one is
in place, and a model that cannot be read leaves the rules in charge, never failing a document.
It starts no threads and keeps no module state: a process's one classifier lives on the
application's services (app/services.py), whose entry point runs the retraining thread.

How the hot folder's kind and the classifier interact: a profile whose kind is one of the kinds
file's ids fixes the kind (the folder is "invoices"); any other profile kind (the default
``incoming``) lets the classifier decide and is kept only when nothing is recognised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from filelock import FileLock, Timeout

from classify.config import ClassifyConfig
from classify.extract import extract_correspondent, extract_fields
from classify.kinds import KindSet, load_kinds
from classify.learned import KindModel, NotEnoughExamples, combine, train
from classify.lineitems import LINE_ITEM_KINDS, add_line_items
from classify.model import Classification, Field, ReviewReason
from classify.organisations import DirectoryEntry, org_key
from classify.rules import score_text
from classify.store import ModelStore

log = logging.getLogger(__name__)


class TrainingSource(Protocol):
    """Where verified cards come from (the catalog)."""

    def count_verified(self) -> int: ...

    def verified_examples(self) -> Iterable[tuple[str, str]]:
        """(kind, text of the card's pages) of every verified card."""
        ...


@dataclass(frozen=True)
class Training:
    """What a retraining did: the model it trained, or why it trained none."""

    model: KindModel | None
    #: why no model was trained, in words for the person who asked (None when one was)
    reason: str | None = None


class Classifier:
    def __init__(self, cfg: ClassifyConfig, models_dir: Path, kinds: KindSet | None = None) -> None:
        self.cfg = cfg
        self.kinds = kinds or load_kinds(cfg.kinds_file)
        self.store = ModelStore(models_dir)
        self._model: KindModel | None = None
        self._own_keys = [org_key(n) for n in cfg.own_names]
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self.refresh(force=True)

    @property
    def model(self) -> KindModel | None:
        return self._model

    # -- the model's life ----------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> KindModel | None:
        """Swap in a newer model file if there is one (at most every ``reload_seconds``)."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.cfg.reload_seconds:
            return self._model
        self._checked_at = now
        current = self._model.version if self._model else 0
        newer = self.store.load_newest(newer_than=current)
        if newer is not None:
            with self._lock:
                if self._model is None or newer.version > self._model.version:
                    self._model = newer
                    log.info("kind model v%d in use (%d examples)", newer.version, newer.examples)
        return self._model

    def install(self, model: KindModel | None) -> None:
        """Use ``model`` (or none: rules alone) from now on, without touching the files."""
        with self._lock:
            self._model = model

    def retrain_due(self, source: TrainingSource) -> bool:
        trained_on = self._model.trained_on if self._model else 0
        return source.count_verified() - trained_on >= self.cfg.retrain_after

    def retrain(self, source: TrainingSource, *, force: bool = False) -> KindModel | None:
        """Train and install a new model if due (or ``force``); None if nothing was trained."""
        return self.train_now(source, force=force).model

    def train_now(self, source: TrainingSource, *, force: bool = False) -> Training:
        """Train and install a new model if due (or ``force``): the model, or why there is none.

        Another process training at the same moment wins: this one trains nothing and picks up
        that process's model at its next refresh.
        """
        try:
            with FileLock(str(self.store.lock_path), timeout=0):
                self.refresh(force=True)  # another process may have just trained
                if not force and not self.retrain_due(source):
                    return Training(None, f"fewer than {self.cfg.retrain_after} cards verified since the last training")
                count = source.count_verified()
                labels: list[str] = []
                texts: list[str] = []
                for kind, text in source.verified_examples():
                    labels.append(kind)
                    texts.append(text)
                try:
                    model = train(texts, labels, min_per_kind=self.cfg.min_per_kind, trained_on=count)
                except NotEnoughExamples as e:
                    log.info("kind model not trained: %s", e)
                    return Training(None, str(e))
                self.store.save(model)
        except Timeout:
            log.info("another process is training the kind model")
            return Training(None, "another process is training the kind model now; its model is used once trained")
        self.install(model)
        log.info("kind model v%d trained on %d verified cards", model.version, model.examples)
        return Training(model)

    # -- classifying ---------------------------------------------------------------------

    def kind_distribution(self, text: str) -> tuple[dict[str, float], str]:
        """Each kind's confidence for a document text, and what decided it."""
        rules = score_text(text, self.kinds)
        model = self._model
        if model is None:
            return dict(rules.shares), "rules"
        try:
            proba = model.probabilities(text)
        except Exception:
            log.exception("kind model v%d failed on a document; rules alone decide", model.version)
            return dict(rules.shares), "rules"
        proba = {k: p for k, p in proba.items() if self.kinds.get(k) is not None}
        if not rules.shares:
            return proba, "model"
        return combine(rules.shares, proba, self.cfg.model_weight), "model+rules"

    def classify(
        self, pages: Sequence[str], profile_kind: str, directory: Sequence[DirectoryEntry] = ()
    ) -> Classification:
        threshold = self.cfg.review_threshold
        text = "\n".join(pages)
        reasons: list[ReviewReason] = []
        if self.kinds.get(profile_kind) is not None:
            kind_id, confidence, source = profile_kind, 1.0, "profile"
        else:
            dist, source = self.kind_distribution(text)
            best = max(dist, key=lambda k: dist[k], default=None)
            if best is None or dist[best] < max(self.cfg.min_kind_confidence, 1e-9):
                kind_id, confidence, source = profile_kind, 0.0, "none"
                reasons.append(ReviewReason("kind_unrecognised", f"kind not recognised (kept {profile_kind})", "kind",
                                            (("kind", profile_kind),)))  # fmt: skip
            else:
                kind_id, confidence = best, dist[best]
                if confidence < threshold:
                    message = f"kind uncertain: {kind_id} {confidence:.2f} < {threshold:.2f}"
                    about = (("kind", kind_id), ("confidence", f"{confidence:.2f}"), ("threshold", f"{threshold:.2f}"))
                    reasons.append(ReviewReason("kind_uncertain", message, "kind", about))
        fields = extract_fields(pages)
        fields["kind"] = Field(kind_id, round(confidence, 3))
        if kind_id in LINE_ITEM_KINDS:
            reasons.extend(add_line_items(fields, pages))
        found = extract_correspondent(pages, directory, fields, self._own_keys)
        proposal: tuple[str, str, str | None] | None = None
        correspondent: str | None = None
        if found is not None:
            corr, page = found
            correspondent = corr.name
            fields["correspondent"] = Field(corr.name, round(corr.confidence, 3), page, corr.offset, corr.length)
            if corr.entry is None:
                proposal = (corr.name, corr.key, _nearby_tax_id(fields, page, corr.offset))
        kind = self.kinds.get(kind_id)
        reasons += _field_reasons(kind.required if kind else (), fields, proposal is not None, threshold)
        number = fields.get("number")
        doc_date = fields.get("date")
        return Classification(
            kind=kind_id,
            confidence=confidence,
            title=_title(kind.title if kind else None, number, doc_date, correspondent, pages),
            doc_number=str(number.value) if number else None,
            doc_date=doc_date.value if doc_date and isinstance(doc_date.value, date) else None,
            fields=fields,
            needs_review=bool(reasons),
            reasons=tuple(reasons),
            correspondent=correspondent,
            proposal=proposal,
            source=source,
            journal=kind.journal if kind and self.cfg.journal_from_kind else None,
        )


def _nearby_tax_id(fields: dict[str, Field], page: int, offset: int) -> str | None:
    """A BIN/INN printed on the same page within a few lines after the name: the proposal's."""
    for name in ("bin", "inn", "iin"):
        f = fields.get(name)
        if f is not None and f.page == page and f.offset is not None and 0 <= f.offset - offset <= 300:
            return str(f.value)
    return None


def _title(
    kind_title: str | None, number: Field | None, doc_date: Field | None, correspondent: str | None, pages: Sequence[str]
) -> str:
    if kind_title is None:
        first = next((line.strip() for text in pages for line in text.splitlines() if len(line.strip()) >= 4), "")
        return first[:200]
    parts = [kind_title]
    if number is not None:
        parts.append(f"№ {number.value}")
    if doc_date is not None and isinstance(doc_date.value, date):
        parts.append(f"от {doc_date.value:%d.%m.%Y}")
    if correspondent:
        parts.append(f"— {correspondent}")
    return " ".join(parts)[:200]


def _field_reasons(required: Sequence[str], fields: Mapping[str, Field], proposed: bool, threshold: float) -> list[ReviewReason]:
    """A reason for each required field that is missing or below ``threshold``; ``proposed``:
    the correspondent is a new one, proposed for the directory."""
    reasons = []
    for name in required:
        f = fields.get(name)
        if f is None:
            reasons.append(ReviewReason("field_missing", f"required field {name} not found", name))
        elif f.confidence < threshold:
            new = name == "correspondent" and proposed
            what = "is not in the directory (proposed)" if new else "uncertain"
            code = "correspondent_proposed" if new else "field_uncertain"
            about = (("value", str(f.value)), ("confidence", f"{f.confidence:.2f}"))
            reasons.append(ReviewReason(code, f"{name} {what}: {f.value} ({f.confidence:.2f})", name, about))
    return reasons
