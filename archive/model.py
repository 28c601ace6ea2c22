"""The archive's data: what a caller hands in (drafts) and what the catalog hands back (rows).

Everything is a frozen dataclass, detached from any database session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, get_args

from archive.cursors import batch_cursor, ledger_cursor
from classify.model import ReviewReason

__all__ = [
    "ATTACHMENT_ROLES",
    "CARD_STATUSES",
    "OUTCOMES",
    "PAGE_SOURCES",
    "AttachmentDraft",
    "AttachmentRole",
    "AttachmentRow",
    "AuditRow",
    "BatchSummary",
    "CardDraft",
    "CardRow",
    "CardStatus",
    "CardView",
    "DELIVERY_STATUSES",
    "DeliveryRow",
    "DeliveryStatus",
    "EVENT_TOPICS",
    "EventRow",
    "EventTopic",
    "SessionRow",
    "TOKEN_SCOPES",
    "TokenRow",
    "TokenScope",
    "USER_ROLES",
    "UserRole",
    "UserRow",
    "WebhookRow",
    "ExtractedField",
    "FieldValue",
    "InputFileRow",
    "OutboxOp",
    "OrganisationRow",
    "OrganisationStatus",
    "OutboxRow",
    "Outcome",
    "PageDraft",
    "PageRow",
    "PageSource",
    "ReviewReason",
    "format_registration_number",
]

Outcome = Literal["pending", "archived", "duplicate", "quarantined"]
CardStatus = Literal["registered", "needs review", "verified"]
AttachmentRole = Literal["original", "pdf", "text", "hocr"]
PageSource = Literal["ocr", "text-layer"]
OutboxOp = Literal["upsert", "delete"]
#: A directory entry a clerk (or the administrator) confirmed, or one classification proposed.
OrganisationStatus = Literal["accepted", "proposed"]
FieldValue = str | int | float | bool | None

#: What the change feed reports (``archive.tables.EVENT_TOPICS`` holds the same).
EventTopic = Literal["card.registered", "card.changed", "card.deleted", "file.quarantined"]
#: An API token's scope and a person's role; ``app.principals`` gives them their permissions
#: (the names are repeated here because the archive cannot import the application layer).
TokenScope = Literal["read", "write", "admin"]
UserRole = Literal["clerk", "operator", "administrator"]
DeliveryStatus = Literal["pending", "delivered", "failed"]

OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
EVENT_TOPICS: tuple[EventTopic, ...] = get_args(EventTopic)
TOKEN_SCOPES: tuple[TokenScope, ...] = get_args(TokenScope)
USER_ROLES: tuple[UserRole, ...] = get_args(UserRole)
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
CARD_STATUSES: tuple[CardStatus, ...] = get_args(CardStatus)
ATTACHMENT_ROLES: tuple[AttachmentRole, ...] = get_args(AttachmentRole)
PAGE_SOURCES: tuple[PageSource, ...] = get_args(PageSource)


def format_registration_number(journal: str, year: int, seq: int) -> str:
    """``ВХ``, 2026, 123 -> ``ВХ-2026-000123``."""
    return f"{journal}-{year}-{seq:06d}"


def _check_confidence(confidence: float, what: str) -> None:
    if not 0.0 <= confidence <= 1.0:
        raise ValueError(f"{what} confidence must be within 0..1, not {confidence}")


@dataclass(frozen=True)
class ExtractedField:
    """One extracted value with the recogniser's confidence and the page it was found on."""

    value: FieldValue
    confidence: float
    page: int | None = None
    #: where on the page it was found: character offset and length in the page text
    offset: int | None = None
    length: int | None = None

    def __post_init__(self) -> None:
        _check_confidence(self.confidence, "field")

    def to_json(self) -> dict[str, FieldValue]:
        out: dict[str, FieldValue] = {"value": self.value, "confidence": self.confidence, "page": self.page}
        if self.offset is not None:
            out["offset"] = self.offset
            out["length"] = self.length
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExtractedField:
        """Also reads rows written before positions were kept (no offset, no length)."""
        return cls(
            value=data.get("value"),
            confidence=float(data.get("confidence", 0.0)),
            page=data.get("page"),
            offset=data.get("offset"),
            length=data.get("length"),
        )


@dataclass(frozen=True)
class PageDraft:
    """A recognised page to store with a new card (``number`` starts at 1)."""

    number: int
    text: str
    confidence: float
    rotation: int = 0
    skew: float = 0.0
    source: PageSource = "ocr"

    def __post_init__(self) -> None:
        if self.number < 1:
            raise ValueError(f"page numbers start at 1, not {self.number}")
        _check_confidence(self.confidence, "page")
        if self.source not in PAGE_SOURCES:
            raise ValueError(f"page source must be one of {PAGE_SOURCES}, not {self.source!r}")


@dataclass(frozen=True)
class AttachmentDraft:
    """A blob to attach to a new card; the blob must already be in the blob store."""

    role: AttachmentRole
    sha256: str
    size: int
    media_type: str
    name: str
    page: int | None = None

    def __post_init__(self) -> None:
        if self.role not in ATTACHMENT_ROLES:
            raise ValueError(
                f"attachment role must be one of {ATTACHMENT_ROLES}, not {self.role!r}"
            )


@dataclass(frozen=True)
class CardDraft:
    """Everything needed to register a card, except what registration assigns.

    Registration assigns the id, the number (from ``journal`` and the year of registration) and
    the registration time. ``source_sha256`` is the original file's checksum: one card per
    original. ``page_count`` defaults to the number of pages; ``batch_id`` and ``source_name``
    default to those of the ledger row being registered. ``review_reasons`` say why the card
    needs a clerk (usually with ``status="needs review"``).
    """

    journal: str
    kind: str
    source_sha256: str
    title: str = ""
    correspondent: str | None = None
    doc_number: str | None = None
    doc_date: date | None = None
    fields: Mapping[str, ExtractedField] = field(default_factory=dict)
    page_count: int | None = None
    language: str | None = None
    status: CardStatus = "registered"
    source_name: str | None = None
    batch_id: str | None = None
    pages: Sequence[PageDraft] = ()
    attachments: Sequence[AttachmentDraft] = ()
    review_reasons: tuple[ReviewReason, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "review_reasons", tuple(self.review_reasons))
        if not all(isinstance(reason, ReviewReason) for reason in self.review_reasons):
            raise ValueError(f"review reasons must be ReviewReason records, not {self.review_reasons!r}")
        if not self.journal or "-" in self.journal:
            raise ValueError(f"a journal is a non-empty code without '-', not {self.journal!r}")
        if self.status not in CARD_STATUSES:
            raise ValueError(f"card status must be one of {CARD_STATUSES}, not {self.status!r}")
        numbers = [page.number for page in self.pages]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"page numbers repeat: {numbers}")


@dataclass(frozen=True)
class InputFileRow:
    """One input file in the ledger and its outcome; ``card_number`` is the card's number."""

    id: str
    batch_id: str
    path: str
    name: str
    sha256: str
    size: int
    outcome: Outcome
    stage: str
    reason: str | None
    card_id: str | None
    card_number: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def cursor(self) -> str:
        """This row's position in the ledger: pass it as ``ledger(after=…)`` for the next page."""
        return ledger_cursor(self.created_at, self.path, self.id)


@dataclass(frozen=True)
class BatchSummary:
    """A batch with how many of its inputs have each outcome (every outcome, zeros included)."""

    id: str
    hotfolder: str
    name: str
    created_at: datetime
    closed_at: datetime | None
    counts: dict[str, int]

    @property
    def cursor(self) -> str:
        """This batch's position in ``list_batches``: pass it as ``after=…`` for the next page."""
        return batch_cursor(self.created_at, self.id)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class CardRow:
    """A registration card as stored."""

    id: str
    registration_number: str
    journal: str
    year: int
    seq: int
    registered_at: datetime
    kind: str
    title: str
    correspondent: str | None
    doc_number: str | None
    doc_date: date | None
    fields: Mapping[str, ExtractedField]
    page_count: int
    language: str | None
    status: CardStatus
    source_sha256: str
    batch_id: str | None
    source_name: str | None
    created_at: datetime
    updated_at: datetime
    #: why the card is in the review queue (empty once a clerk has dealt with it)
    review_reasons: tuple[ReviewReason, ...] = ()
    #: 1 at registration, +1 with every update that changed something (an ETag for If-Match)
    version: int = 1


@dataclass(frozen=True)
class PageRow:
    number: int
    text: str
    confidence: float
    rotation: int
    skew: float
    source: PageSource


@dataclass(frozen=True)
class AttachmentRow:
    id: str
    role: AttachmentRole
    page: int | None
    sha256: str
    size: int
    media_type: str
    name: str


@dataclass(frozen=True)
class AuditRow:
    """One entry of a card's history; ``changes`` maps a field to ``{"old": …, "new": …}``."""

    id: int
    card_id: str
    at: datetime
    actor: str
    action: str
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class OutboxRow:
    """A change the search index has still to apply."""

    id: int
    card_id: str
    op: OutboxOp
    created_at: datetime


@dataclass(frozen=True)
class CardView:
    """A card with its pages, attachments and history (oldest first)."""

    card: CardRow
    pages: tuple[PageRow, ...]
    attachments: tuple[AttachmentRow, ...]
    history: tuple[AuditRow, ...]


@dataclass(frozen=True)
class OrganisationRow:
    """One organisation of the correspondents directory.

    ``key`` is the comparison key (``classify.organisations.org_key``): unique, so the same
    organisation is never proposed twice. ``tax_id`` is its BIN/IIN or INN when known;
    ``card_id`` the card whose document first named it (for proposals).
    """

    id: str
    name: str
    key: str
    tax_id: str | None
    status: OrganisationStatus
    card_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EventRow:
    """One entry of the change feed: ``seq`` orders the feed in commit order.

    ``data`` is a small payload: ``registration_number`` for card events, ``changed`` (the
    changed field names) and ``version`` for ``card.changed``, ``reason`` for ``card.deleted``,
    and ``input``, ``batch``, ``path``, ``reason``, ``stage`` for ``file.quarantined``.
    """

    seq: int
    topic: EventTopic
    card_id: str | None
    input_id: str | None
    at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True)
class TokenRow:
    """An API token as stored: only the SHA-256 of its secret is kept."""

    id: str
    name: str
    scope: TokenScope
    token_hash: str = field(repr=False)
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class UserRow:
    """A person's account; ``password_hash`` is an Argon2 hash string."""

    id: str
    name: str
    role: UserRole
    password_hash: str = field(repr=False)
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class SessionRow:
    """A web session; ``id`` is the SHA-256 of the secret the browser holds."""

    id: str = field(repr=False)
    user_id: str
    csrf_token: str = field(repr=False)
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class WebhookRow:
    """A registered receiver: the topics it wants and how far its deliveries are planned."""

    id: str
    url: str
    secret: str = field(repr=False)
    topics: tuple[EventTopic, ...]
    created_at: datetime
    disabled_at: datetime | None
    #: the last event seq already turned into deliveries (or passed over as another topic)
    cursor: int

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class DeliveryRow:
    """One event to deliver to one webhook, with its attempts so far and the event itself."""

    id: int
    hook_id: str
    event_seq: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    event: EventRow | None = None
