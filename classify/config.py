"""Classification settings (``[classify]`` in the settings file, ``KARTOTEKA_CLASSIFY_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ClassifyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The document kinds file the administrator edits; default: the starter set shipped with
    #: the package.
    kinds_file: Path | None = None
    #: A card whose kind or required fields are less certain than this goes to review.
    review_threshold: float = Field(0.6, ge=0, le=1)
