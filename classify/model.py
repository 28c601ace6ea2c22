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


#: Why a card needs a clerk: the codes a ``ReviewReason`` may carry.
REVIEW_CODES = (
    "kind_unrecognised",  # no kind scored above min_kind_confidence; the profile's kind was kept
    "kind_uncertain",  # the best kind scored below the review threshold
    "field_missing",  # a field the kind requires was not found
    "field_uncertain",  # a required field was found with low confidence
    "correspondent_proposed",  # the correspondent is not in the directory yet (proposed)
    "pages_failed",  # some pages could not be recognised
    "line_items_total",  # the line items do not add up to the printed total (classify/lineitems.py)
    "other",  # a reason recorded before reasons were structured (a migrated card)
)


@dataclass(frozen=True, slots=True)
class ReviewReason:
    """One reason a card is in the review queue, as data: what, for a person, and which field."""

    code: str
    message: str
    field: str | None = None
    #: what the message says, as data (``kind``, ``confidence``, ``value``…): the web UI phrases
    #: it in the clerk's language; reasons recorded before it have none (the message is shown)
    params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.code not in REVIEW_CODES:
            raise ValueError(f"review reason code must be one of {REVIEW_CODES}, not {self.code!r}")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        if self.params:
            out["params"] = dict(self.params)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReviewReason:
        params = data.get("params") or {}
        return cls(
            str(data["code"]),
            str(data["message"]),
            None if data.get("field") is None else str(data["field"]),
            tuple((str(k), str(v)) for k, v in params.items()) if isinstance(params, dict) else (),
        )

    @property
    def details(self) -> dict[str, str]:
        return dict(self.params)


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
    reasons: tuple[ReviewReason, ...] = ()
    correspondent: str | None = None
    #: a correspondent that matched no directory entry: (name, key, tax id) to propose
    proposal: tuple[str, str, str | None] | None = None
    #: where the kind came from: "profile", "rules", "model+rules", "none"
    source: str = "rules"
    journal: str | None = None
