"""The first classification step: the hot folder's kind, plus the document's own date and number."""

from __future__ import annotations

from collections.abc import Sequence

from classify.fields import find_date, find_number
from classify.model import Classification, Field


def classify_document(pages: Sequence[str], default_kind: str) -> Classification:
    """Kind from the profile; date, number and a title from the first page that has them."""
    fields: dict[str, Field] = {}
    for number, text in enumerate(pages, 1):
        if "date" not in fields and (found := find_date(text)):
            fields["date"] = Field(found.value, 0.8, number, found.offset)
        if "number" not in fields and (found := find_number(text)):
            fields["number"] = Field(found.value, 0.7, number, found.offset)
    title = next((line.strip() for text in pages for line in text.splitlines() if len(line.strip()) >= 4), "")
    return Classification(
        kind=default_kind,
        confidence=1.0,
        title=title[:200],
        doc_number=fields["number"].value if "number" in fields else None,
        doc_date=fields["date"].value if "date" in fields else None,
        fields=fields,
    )
