"""The shapes of every request and response, so the OpenAPI schema is typed.

The JSON of cards, search results, ledger entries and the review queue is the command line's
``--json`` output (DESIGN "HTTP contract"); these models describe it, they do not reshape it:
routes return the application layer's dicts and serialise them with ``exclude_unset``, so a
key that is absent there (``facets`` of a search without facets) is absent here too. Models of
those shapes allow extra keys, so a key the application adds reaches clients unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.principals import Permission, Role, Scope
from archive.model import DeliveryStatus, EventTopic

#: Times are ISO 8601 strings exactly as the command line prints them.
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
FieldValue = str | int | float | bool | None
Outcome = Literal["pending", "archived", "duplicate", "quarantined"]
Status = Literal["registered", "needs review", "verified"]


class Open(BaseModel):
    """A shape shared with the command line: keys it gains later pass through."""

    model_config = ConfigDict(extra="allow")


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- problems -------------------------------------------------------------------------------


class ValidationIssue(BaseModel):
    loc: list[str]
    message: str
    type: str


class Problem(Open):
    """RFC 9457 problem details, with our machine-readable ``code``."""

    type: str = Field(examples=["urn:kartoteka:problem:card-not-found"])
    title: str
    status: int
    detail: str
    code: str = Field(examples=["card-not-found"])
    #: what was wrong with each part of a request that failed validation (422)
    errors: list[ValidationIssue] | None = None
    #: names the log line of a server error (500)
    reference: str | None = None


# -- cards ----------------------------------------------------------------------------------


class ExtractedField(Open):
    value: FieldValue
    confidence: float
    page: int | None = None
    offset: int | None = None
    length: int | None = None


class ReviewReason(Open):
    code: str
    message: str
    field: str | None = None


class Page(Open):
    number: int
    text: str
    confidence: float
    rotation: int
    skew: float
    source: Literal["ocr", "text-layer"]


class Attachment(Open):
    id: str
    role: Literal["original", "pdf", "text", "hocr"]
    page: int | None
    sha256: str
    size: int
    media_type: str
    name: str


class AuditEntry(Open):
    id: int
    card_id: str
    at: DateTime
    actor: str
    action: str
    changes: dict[str, Any]


class Card(Open):
    """A registration card as ``kartoteka card --json`` prints it (``card`` and ``id`` are its id)."""

    card: str
    id: str
    registration_number: str
    journal: str
    year: int
    seq: int
    registered_at: DateTime
    kind: str
    title: str
    correspondent: str | None
    doc_number: str | None
    doc_date: str | None
    fields: dict[str, ExtractedField]
    page_count: int
    language: str | None
    status: Status
    source_sha256: str
    batch_id: str | None
    source_name: str | None
    created_at: DateTime
    updated_at: DateTime
    #: grows with every change; the ETag is ``"v{version}"``
    version: int
    review_reasons: list[ReviewReason]
    pages: list[Page]
    attachments: list[Attachment]
    history: list[AuditEntry]


class CardSummary(Open):
    """A card in a listing, from the search index."""

    card: str
    registration_number: str | None
    kind: str | None
    status: str | None
    title: str | None
    correspondent: str | None
    registered_at: DateTime | None


class CardPage(BaseModel):
    cards: list[CardSummary]
    #: cards matching the filters now
    total: int
    #: pass as ``cursor`` for the next page; null on the last page
    next_cursor: str | None


class CardCorrection(Closed):
    """A clerk's correction; an absent (or null) key changes nothing."""

    kind: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    #: field name → value; null or "" removes the field
    fields: dict[Annotated[str, Field(min_length=1, max_length=100)], Annotated[str, Field(max_length=2000)] | None] = Field(
        default_factory=dict
    )
    #: "" clears the correspondent
    correspondent: Annotated[str, Field(max_length=500)] | None = None
    title: Annotated[str, Field(max_length=2000)] | None = None


# -- search ---------------------------------------------------------------------------------


class Highlight(Open):
    field: str
    page: int | None
    snippet: str


class Hit(Open):
    card: str
    registration_number: str | None
    kind: str | None
    status: str | None = None
    title: str | None = None
    correspondent: str | None = None
    registered_at: DateTime | None = None
    score: float
    highlights: list[Highlight]


class FacetBucket(BaseModel):
    value: str
    count: int


class SearchResult(Open):
    """As ``kartoteka search --json`` prints it; ``facets`` only when asked, ``notes`` when any;
    ``close_matches`` when nothing matched as typed and these hits are for the typo-tolerant
    query it gives («ограниченой~»); ``missing`` when even that found nothing and these hits are
    for the query without the words no card contains (folded: lower case, «ё» as «е»)."""

    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetBucket]] | None = None
    notes: list[str] | None = None
    close_matches: str | None = None
    missing: list[str] | None = None


# -- ledger, batches, review queue ----------------------------------------------------------


class LedgerEntry(Open):
    #: the ledger row's id: retry a quarantined one with ``POST /api/v1/inputs/{input}/retry``
    input: str
    path: str
    sha256: str
    batch: str
    outcome: Outcome
    card: str | None
    registration_number: str | None
    reason: str | None
    stage: str


class LedgerPage(Open):
    files: list[LedgerEntry]
    next_cursor: str | None


class UploadReceipt(BaseModel):
    """The batch an upload became and its files, pending until processed."""

    batch: str
    files: list[LedgerEntry]


class BatchCard(BaseModel):
    card: str
    registration_number: str


class Batch(Open):
    batch: str
    hotfolder: str
    name: str
    created_at: DateTime
    closed_at: DateTime | None
    counts: dict[str, int]
    total: int
    #: one batch's page only: every card registered from it (a file split by separator sheets
    #: is one ledger entry and several cards)
    cards: list[BatchCard] | None = None


class BatchPage(BaseModel):
    batches: list[Batch]
    next_cursor: str | None


class ReviewCard(Open):
    card: str
    registration_number: str
    registered_at: DateTime
    kind: str
    kind_confidence: float | None
    title: str
    correspondent: str | None
    status: Status
    review_reasons: list[ReviewReason]


class ReviewQueue(Open):
    """As ``kartoteka review list --json`` prints it: oldest first."""

    total: int
    cards: list[ReviewCard]


# -- the change feed ------------------------------------------------------------------------


class Change(Open):
    cursor: str
    topic: str
    card: str | None
    registration_number: str | None
    at: DateTime
    data: dict[str, Any]


class ChangePage(BaseModel):
    changes: list[Change]
    #: pass as ``after`` next time (also when there were no changes)
    next_cursor: str


# -- who may do what ------------------------------------------------------------------------


class Login(Closed):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class SessionInfo(BaseModel):
    actor: str
    kind: Literal["token", "user"]
    name: str
    permissions: list[Permission]
    #: send as X-CSRF-Token with every change made through the session cookie
    csrf_token: str | None = None
    expires_at: DateTime | None = None


class Token(Open):
    id: str
    name: str
    scope: Scope
    created_at: DateTime
    last_used_at: DateTime | None
    revoked_at: DateTime | None


AccountName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.@+-]+$")]


class TokenRequest(Closed):
    name: AccountName
    scope: Scope


class TokenCreated(BaseModel):
    token: Token
    #: shown this once; only its hash is kept
    secret: str


class User(Open):
    id: str
    name: str
    role: Role
    created_at: DateTime
    disabled_at: DateTime | None


class UserRequest(Closed):
    name: AccountName
    role: Role
    password: Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


# -- webhooks -------------------------------------------------------------------------------


#: http(s)://host[:port][/path][?query]: a host name or IPv4 address (no IPv6 literal), no
#: spaces or control characters.
WEBHOOK_URL = r"^https?://[^\x00-\x20\x7f/?#\[\]\\]+([/?#][^\x00-\x20\x7f]*)?$"


class WebhookRequest(Closed):
    """A receiver to register: it gets the events of ``topics`` from now on (``from_start``:
    from the first event of the change feed)."""

    url: Annotated[str, Field(min_length=1, max_length=2000, pattern=WEBHOOK_URL,
                              examples=["https://edms.example.org/kartoteka/events"])]  # fmt: skip
    topics: Annotated[list[EventTopic], Field(min_length=1, max_length=10)]
    #: the HMAC-SHA256 key deliveries are signed with; generated when absent
    secret: Annotated[str, Field(min_length=16, max_length=255)] | None = None
    from_start: StrictBool = False


class Webhook(BaseModel):
    id: str
    url: str
    topics: list[EventTopic]
    created_at: DateTime
    #: set once the hook is disabled (``DELETE``): nothing more is planned or sent to it
    disabled_at: DateTime | None
    #: the change feed's cursor up to which events are planned as deliveries
    cursor: str


class WebhookCreated(BaseModel):
    webhook: Webhook
    #: shown this once: verify each delivery's ``Kartoteka-Signature`` with it
    secret: str


class Delivery(BaseModel):
    """One event to one receiver and how its attempts went."""

    id: int
    #: the event's cursor in the change feed (the ``Idempotency-Key`` is ``<hook id>:<event>``)
    event: str
    topic: EventTopic | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: DateTime | None
    #: the receiver's HTTP status at the last attempt
    last_status: int | None
    last_error: str | None
    created_at: DateTime
    delivered_at: DateTime | None


class DeliveryPage(BaseModel):
    deliveries: list[Delivery]
    #: pass as ``after`` for the next page; null on the last page
    next_cursor: str | None


# -- operations -----------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str]
