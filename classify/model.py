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
    #: character offset in the page text where it was found
    offset: int | None = None

    def as_json(self) -> dict[str, Any]:
        v = self.value.isoformat() if isinstance(self.value, date) else self.value
        return {"value": v, "confidence": round(self.confidence, 3), "page": self.page, "offset": self.offset}


@dataclass(frozen=True, slots=True)
class Classification:
    kind: str
    confidence: float
    title: str = ""
    doc_number: str | None = None
    doc_date: date | None = None
    fields: dict[str, Field] = field(default_factory=dict)
    needs_review: bool = False
