"""A card drafted from a document's recognised pages and its classification.

The card is defined here in ``archive``, so the rules of what goes on it live here too: which
fields it keeps (and how values become plain JSON), why it needs a clerk (the classification's
reasons plus pages that could not be recognised), its status, and the attachments every page
contributes (its text and hOCR, stored as blobs). The caller (the pipeline) stores the original
and the searchable PDF and hands their attachments in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from archive.blobs import BlobStore
from archive.model import AttachmentDraft, CardDraft, ExtractedField, FieldValue, PageDraft
from classify.model import Classification, Field, ReviewReason
from ocr.model import PageResult

__all__ = ["DraftSource", "card_fields", "draft_card", "page_attachments", "review_reasons"]


@dataclass(frozen=True, slots=True)
class DraftSource:
    """Where a document came from: its key (one card per key), first file and batch, and the
    hot folder's journal and languages (the kind's own journal wins when configured)."""

    key: str
    source_name: str
    batch_id: str
    journal: str
    languages: str


def draft_card(
    pages: Sequence[PageResult],
    cls: Classification,
    source: DraftSource,
    attachments: Sequence[AttachmentDraft] = (),
) -> CardDraft:
    """The card for one document; ``needs review`` when there is any reason for a clerk to look."""
    reasons = review_reasons(cls, pages)
    failed = [n for n, page in enumerate(pages, 1) if page.error]
    return CardDraft(
        journal=cls.journal or source.journal,
        kind=cls.kind,
        source_sha256=source.key,
        title=cls.title,
        correspondent=cls.correspondent,
        doc_number=cls.doc_number,
        doc_date=cls.doc_date,
        fields=card_fields(cls.fields, failed),
        language=source.languages,
        status="needs review" if reasons else "registered",
        review_reasons=reasons,
        source_name=source.source_name,
        batch_id=source.batch_id,
        pages=[_page_draft(n, page) for n, page in enumerate(pages, 1)],
        attachments=list(attachments),
    )


def review_reasons(cls: Classification, pages: Sequence[PageResult]) -> tuple[ReviewReason, ...]:
    """The classification's reasons, and one for the pages recognition failed on."""
    failed = [str(n) for n, page in enumerate(pages, 1) if page.error]
    if not failed:
        return cls.reasons
    message = f"pages {','.join(failed)} could not be recognised"
    return (*cls.reasons, ReviewReason("pages_failed", message, "failed_pages", (("pages", ", ".join(failed)),)))


def card_fields(fields: Mapping[str, Field], failed_pages: Sequence[int] = ()) -> dict[str, ExtractedField]:
    """Classification fields as the card keeps them: plain JSON values, confidences within 0..1;
    ``failed_pages`` lists the pages that could not be recognised."""
    out = {
        name: ExtractedField(_plain(f.value), _unit(f.confidence), f.page, f.offset, f.length)
        for name, f in fields.items()
    }
    if failed_pages:
        out["failed_pages"] = ExtractedField(",".join(map(str, failed_pages)), 1.0)
    return out


def page_attachments(blobs: BlobStore, pages: Sequence[PageResult]) -> list[AttachmentDraft]:
    """Store each page's text (and hOCR, when recognised) as blobs; their attachments, page by page."""
    out: list[AttachmentDraft] = []
    for number, page in enumerate(pages, 1):
        text = blobs.put_bytes(page.text.encode("utf-8"))
        out.append(AttachmentDraft("text", text.sha256, text.size, "text/plain; charset=utf-8", f"page-{number}.txt", number))
        if page.hocr:
            hocr = blobs.put_bytes(page.hocr.encode("utf-8"))
            out.append(AttachmentDraft("hocr", hocr.sha256, hocr.size, "text/vnd.hocr+html", f"page-{number}.hocr", number))
    return out


def _page_draft(number: int, page: PageResult) -> PageDraft:
    return PageDraft(number, page.text, _unit(page.confidence), page.rotation, page.skew, page.source)


def _unit(confidence: float) -> float:
    return min(max(confidence, 0.0), 1.0)


def _plain(value: object) -> FieldValue:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat() if callable(isoformat) else value)
