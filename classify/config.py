"""Classification settings (``[classify]`` in the settings file, ``KARTOTEKA_CLASSIFY_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ClassifyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The document kinds file the administrator edits; default: the starter set shipped with
    #: the package (classify/kinds.toml).
    kinds_file: Path | None = None
    #: A card whose kind or required fields are less certain than this goes to review.
    review_threshold: float = Field(0.6, ge=0, le=1)
    #: Retrain the kind model once this many cards were verified since the last training.
    retrain_after: int = Field(20, ge=1)
    #: A kind enters the model only with at least this many verified cards.
    min_per_kind: int = Field(3, ge=1)
    #: The model's share in the combined kind confidence (the rules have the rest).
    model_weight: float = Field(0.5, ge=0, le=1)
    #: Below this confidence no kind is assigned: the card keeps the hot folder's kind (review).
    min_kind_confidence: float = Field(0.2, ge=0, le=1)
    #: How often a running process looks for a newer model file or a due retraining (seconds).
    reload_seconds: float = Field(30.0, ge=0)
    #: The office's own organisation names: never taken as a document's correspondent
    #: (in the environment: names separated by ";").
    own_names: tuple[str, ...] = ()
    #: Register each card in its kind's journal (from the kinds file) instead of the hot folder's.
    journal_from_kind: bool = False

    @field_validator("own_names", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(n.strip() for n in value.split(";") if n.strip())
        return value
