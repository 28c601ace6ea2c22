"""What classification produces for a document."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class Field:
    value: Any
    confidence: float
    page: int | None = None
    #: character offset and length in the page text where it was found
    offset: int | None = None
    length: int | None = None

    def as_json(self) -> dict[str, Any]:
        v = self.value.isoformat() if isinstance(self.value, date) else self.value
        return {
            "value": v,
            "confidence": round(self.confidence, 3),
            "page": self.page,
            "offset": self.offset,
            "length": self.length,
        }


@dataclass(frozen=True, slots=True)
class Classification:
    kind: str
    confidence: float
    title: str = ""
    doc_number: str | None = None
    doc_date: date | None = None
    fields: dict[str, Field] = field(default_factory=dict)
    needs_review: bool = False
    #: why the card goes to review (kind uncertain, a required field missing or uncertain)
    reasons: tuple[str, ...] = ()
    correspondent: str | None = None
    #: a correspondent that matched no directory entry: (name, key, tax id) to propose
    proposal: tuple[str, str, str | None] | None = None
    #: where the kind came from: "profile", "rules", "model+rules", "none"
    source: str = "rules"
    journal: str | None = None
