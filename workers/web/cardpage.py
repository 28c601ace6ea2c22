"""What the card page shows: each page's image (served by the API, at two widths) beside its
recognised text, the search's words marked on both, the fields with their confidence and the
box of the words they came from, the attachments and the card's history."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from app import review
from app.services import Services
from archive.model import AttachmentRow, AuditRow, CardRow, CardView, ExtractedField, OrganisationRow, PageRow, ReviewReason
from classify.organisations import org_key
from workers.web import labels
from workers.web.i18n import Language
from workers.web.marks import Box, PageLayout, QueryWords, field_box, hit_boxes, marked_and_count, marked_text, page_layout
from workers.web.values import Shown, typed_value

__all__ = [
    "IMAGE_WIDTHS",
    "ITEM_COLUMNS",
    "CardPage",
    "Change",
    "FieldView",
    "HistoryEntry",
    "LineItemView",
    "PageView",
    "card_page",
    "kind_titles",
    "line_items",
    "organisation_choices",
]

#: Page images are asked for at these widths (``srcset``: the browser takes what its screen needs).
IMAGE_WIDTHS = (800, 1600)
#: The aspect of a page whose hOCR names no size: A4.
A4 = (1240, 1754)
#: An hOCR larger than this is not read for boxes (a real page's is 20-200 kB).
MAX_HOCR_BYTES = 8 * 1024 * 1024
#: Longest value shown in the history before it is cut.
MAX_VALUE_CHARS = 300
#: Directory entries offered as correspondents at most.
MAX_ORGANISATIONS = 2000
_ANCHOR = re.compile(r"[^A-Za-z0-9_-]")
#: Card columns a correction sets together with the field of the same meaning (``app.review``):
#: the audit entry records both; the history shows the field's change (as the fields table names
#: it) and leaves out the column's.
MIRRORED_FIELDS = {"kind": "fields.kind", **{column: f"fields.{name}" for name, column in review.COLUMNS.items()}}


@dataclass(frozen=True)
class PageView:
    number: int
    text: Markup
    confidence: float
    source: str
    #: the image's width and height for its aspect (the image is shown as wide as its column)
    width: int
    height: int
    hits: list[Box] = field(default_factory=list)
    #: (anchor id, box) of the fields found on this page
    fields: list[tuple[str, Box]] = field(default_factory=list)

    def image_url(self, api: str, card_id: str, width: int = IMAGE_WIDTHS[0]) -> str:
        return f"{api}/cards/{card_id}/pages/{self.number}/image?width={width}"

    def srcset(self, api: str, card_id: str) -> str:
        return ", ".join(f"{self.image_url(api, card_id, w)} {w}w" for w in IMAGE_WIDTHS)


@dataclass(frozen=True)
class FieldView:
    name: str
    #: a date or a figure where the field holds one (the page writes it in its locale), else text
    value: Shown
    confidence: float
    page: int | None
    #: the id of its box on the page image, when the words it came from are known
    anchor: str | None


#: The card's own fields shown in the page's heading that a search looks in.
HEAD_FIELDS = ("registration_number", "title", "correspondent", "doc_number")
#: The columns of a line item, in the order the table shows them (classify/lineitems.py).
ITEM_COLUMNS = ("name", "quantity", "unit", "price", "amount", "vat_rate", "vat", "total")
_ITEM_FIELD = re.compile(r"items\.(\d+)\.(\w+)")


@dataclass(frozen=True)
class LineItemView:
    """One row of an invoice's, waybill's or UPD's item table, as the card's fields hold it."""

    number: int
    #: column → value ("" where the row has none; figures as numbers)
    values: dict[str, Shown]
    #: the lowest confidence of the row's values
    confidence: float


#: A value in the history: a field's value (typed as the fields table shows it), or review reasons.
ChangeValue = Shown | tuple[ReviewReason, ...]
#: (field, old, new)
Change = tuple[str, ChangeValue, ChangeValue]


@dataclass(frozen=True)
class HistoryEntry:
    row: AuditRow
    changes: list[Change]


@dataclass(frozen=True)
class CardPage:
    view: CardView
    kind_title: str
    pages: list[PageView]
    fields: list[FieldView]
    #: the item table (``items.N.*`` fields), in row order; the other fields leave them out
    items: list[LineItemView]
    attachments: list[AttachmentRow]
    history: list[HistoryEntry]
    #: every kind's title in the page's language (review reasons name kinds)
    kind_names: dict[str, str]
    #: the heading's registration number, title, correspondent and document number, the
    #: search's words marked
    head: dict[str, Markup]
    #: the search's words found on the card, its pages and its heading (0: none, or no search)
    hit_count: int
    #: the item table's columns, in order
    item_columns: tuple[str, ...] = ITEM_COLUMNS


def kind_titles(services: Services, language: Language) -> dict[str, str]:
    """Every kind's title in the UI's language: a configured kind's from the kinds file
    (``titles``), a hot folder's default kind's (``incoming``) from the catalogs."""
    fallbacks = {kind: language.gettext(title) for kind, title in labels.KINDS.items()}
    return fallbacks | {k.id: k.title_in(language.code) for k in review.kinds(services).kinds}


def card_page(services: Services, view: CardView, query: str, language: Language) -> CardPage:
    words = QueryWords.of(query)
    layouts = _layouts(services, view)
    fields, boxes = _fields(view, layouts)
    pages = [_page(page, layouts.get(page.number), words, boxes.get(page.number, [])) for page in view.pages]
    titles = kind_titles(services, language)
    head: dict[str, Markup] = {}
    head_hits = 0
    for name in HEAD_FIELDS:  # a card is found by these too (search/highlight.py)
        value = getattr(view.card, name)
        if value:
            head[name], count = marked_and_count(str(value), words)
            head_hits += count
    return CardPage(
        view=view,
        kind_title=titles.get(view.card.kind, view.card.kind),
        pages=pages,
        fields=[f for f in fields if not _ITEM_FIELD.fullmatch(f.name)],
        items=line_items(view.card.fields),
        attachments=sorted(view.attachments, key=lambda a: (a.role != "original", a.role != "pdf", a.page or 0, a.role)),
        history=[HistoryEntry(row, _changes(row, titles)) for row in reversed(view.history)],
        kind_names=titles,
        head=head,
        hit_count=head_hits + sum(len(p.hits) for p in pages),
    )


def line_items(fields: Mapping[str, ExtractedField]) -> list[LineItemView]:
    """The rows of the card's item table from its ``items.N.column`` fields (``items.count`` and
    ``items.sum`` stay among the fields)."""
    rows: dict[int, dict[str, ExtractedField]] = {}
    for name, found in fields.items():
        m = _ITEM_FIELD.fullmatch(name)
        if m and m.group(2) in ITEM_COLUMNS:
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = found
    return [
        LineItemView(
            number=n,
            values={c: "" if row.get(c) is None or row[c].value is None else typed_value(c, row[c].value) for c in ITEM_COLUMNS},
            confidence=min(f.confidence for f in row.values()),
        )
        for n, row in sorted(rows.items())
    ]


def _layouts(services: Services, view: CardView) -> dict[int, PageLayout]:
    """Each page's layout from its hOCR attachment (pages without one are left out)."""
    found: dict[int, PageLayout] = {}
    for attachment in view.attachments:
        if attachment.role != "hocr" or attachment.page is None or attachment.size > MAX_HOCR_BYTES:
            continue
        with services.blobs.open(attachment.sha256) as stream:
            hocr = stream.read(MAX_HOCR_BYTES).decode("utf-8", "replace")
        layout = page_layout(hocr)
        if layout is not None:
            found[attachment.page] = layout
    return found


def _page(page: PageRow, layout: PageLayout | None, words: QueryWords, fields: list[tuple[str, Box]]) -> PageView:
    width, height = (layout.width, layout.height) if layout else A4
    return PageView(
        number=page.number,
        text=marked_text(page.text, words),
        confidence=page.confidence,
        source=page.source,
        width=IMAGE_WIDTHS[0],
        height=max(1, round(IMAGE_WIDTHS[0] * height / width)),
        hits=hit_boxes(layout, words) if layout else [],
        fields=fields,
    )


def _fields(view: CardView, layouts: dict[int, PageLayout]) -> tuple[list[FieldView], dict[int, list[tuple[str, Box]]]]:
    """The card's fields (the kind apart: the page's heading shows it), and per page the boxes of
    those whose words are known."""
    fields: list[FieldView] = []
    boxes: dict[int, list[tuple[str, Box]]] = {}
    for name, found in view.card.fields.items():
        if name == "kind":
            continue
        box = _box_of(view, layouts.get(found.page or 0), found)
        anchor = f"field-{_ANCHOR.sub('_', name)}" if box is not None else None
        fields.append(FieldView(name, typed_value(name, found.value), found.confidence, found.page, anchor))
        if box is not None and anchor is not None and found.page is not None:
            boxes.setdefault(found.page, []).append((anchor, box))
    return fields, boxes


def _box_of(view: CardView, layout: PageLayout | None, found: ExtractedField) -> Box | None:
    if layout is None or found.page is None or found.offset is None:
        return None
    page = next((p for p in view.pages if p.number == found.page), None)
    return field_box(layout, page.text, found.offset, found.length or 0) if page else None


def _changes(row: AuditRow, kind_titles: Mapping[str, str]) -> list[Change]:
    """(field, old, new) as a person reads them: a field by its name without the ``fields.``
    of the audit record, a kind by its title, dates and figures typed, review reasons as
    reasons; a change that reads the same on both sides (a field confirmed: only its confidence
    moved) is left out, and so is a column's change its field's shows (``MIRRORED_FIELDS``)."""
    shown: dict[str, Change] = {}
    for name, change in row.changes.items():
        field_name = str(name).removeprefix("fields.")
        old: ChangeValue
        if isinstance(change, dict) and ("old" in change or "new" in change):
            old, new = history_value(field_name, change.get("old")), history_value(field_name, change.get("new"))
        else:
            old, new = "", history_value(field_name, change)
        if field_name == "kind":
            old, new = (kind_titles.get(v, v) if isinstance(v, str) else v for v in (old, new))
        if old != new:
            shown[str(name)] = (field_name, old, new)
    return [change for name, change in shown.items() if MIRRORED_FIELDS.get(name) not in shown]


def history_value(name: str, value: Any) -> ChangeValue:
    """A recorded value of ``name`` as the history shows it: a field by its value, typed as in
    the fields table; review reasons as reasons (phrased in the page's language); else text."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if name == "review_reasons" and isinstance(value, list) and value:
        try:
            return tuple(ReviewReason.from_json(dict(reason)) for reason in value)
        except (KeyError, TypeError, ValueError):
            return plain_value(value)
    if isinstance(value, str | int) and not isinstance(value, bool):
        typed = typed_value(name, value)
        if not isinstance(typed, str):
            return typed
    return plain_value(value)


def plain_value(value: Any) -> str:
    """A stored value as a person reads it: a field by its value, a list joined, cut when long."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, dict) and "value" in value:
        text = plain_value(value["value"])
    elif isinstance(value, dict) and "message" in value:
        text = str(value["message"])
    elif isinstance(value, dict):
        text = "; ".join(f"{k}: {plain_value(v)}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        text = "; ".join(plain_value(v) for v in value)
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def organisation_choices(services: Services, card: CardRow) -> tuple[list[OrganisationRow], list[OrganisationRow]]:
    """(accepted entries of the directory to choose from, entries proposed for this card: from it,
    or under the name of its correspondent)."""
    entries = review.organisations(services)
    key = org_key(card.correspondent) if card.correspondent else ""
    accepted = [o for o in entries if o.status == "accepted"][:MAX_ORGANISATIONS]
    proposed = [o for o in entries if o.status == "proposed" and (o.card_id == card.id or (key and o.key == key))]
    return accepted, proposed
