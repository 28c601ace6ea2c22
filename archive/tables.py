"""The catalog schema as SQLAlchemy Core tables (SQLite and PostgreSQL).

The migrations in ``archive/migrations/versions`` create exactly this; a test compares them.
Change both together.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

from archive.model import DELIVERY_STATUSES, EVENT_TOPICS, TOKEN_SCOPES, USER_ROLES

__all__ = [
    "UtcDateTime",
    "api_tokens",
    "attachments",
    "audit",
    "batches",
    "cards",
    "event_counter",
    "events",
    "input_files",
    "journal_counters",
    "login_failures",
    "metadata",
    "organisations",
    "outbox",
    "pages",
    "sessions",
    "users",
    "webhook_deliveries",
    "webhooks",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in, an aware UTC datetime out, on every backend.

    SQLite has no time zones, so values are stored there as naive UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime: {value!r}")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _id() -> Column[str]:
    return Column("id", String(36), primary_key=True)


def _serial_id() -> Column[int]:
    # BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY autoincrements.
    return Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


metadata = MetaData(naming_convention=NAMING_CONVENTION)

batches = Table(
    "batches",
    metadata,
    _id(),
    Column("hotfolder", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    # One open batch per (hotfolder, name); closed batches may repeat a name.
    Index(
        "uq_batches_open_hotfolder_name",
        "hotfolder",
        "name",
        unique=True,
        sqlite_where=text("closed_at IS NULL"),
        postgresql_where=text("closed_at IS NULL"),
    ),
)

input_files = Table(
    "input_files",
    metadata,
    _id(),
    Column("batch_id", String(36), ForeignKey("batches.id"), nullable=False),
    Column("path", Text(), nullable=False),
    Column("name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger(), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("stage", String(64), nullable=False),
    Column("reason", Text(), nullable=True),
    Column("card_id", String(36), ForeignKey("cards.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("batch_id", "path", "sha256"),
    CheckConstraint(
        "outcome IN ('pending', 'archived', 'duplicate', 'quarantined')", name="outcome"
    ),
    Index(None, "outcome"),
    Index(None, "sha256"),
    Index(None, "card_id"),
)

cards = Table(
    "cards",
    metadata,
    _id(),
    Column("registration_number", String(64), nullable=False, unique=True),
    Column("journal", String(32), nullable=False),
    Column("year", Integer(), nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("registered_at", UtcDateTime(), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("title", Text(), nullable=False),
    Column("correspondent", Text(), nullable=True),
    Column("doc_number", String(128), nullable=True),
    Column("doc_date", Date(), nullable=True),
    Column("fields", JSON(), nullable=False),
    Column("page_count", Integer(), nullable=False),
    Column("language", String(32), nullable=True),
    Column("status", String(16), nullable=False),
    Column("source_sha256", String(64), nullable=False, unique=True),
    Column("batch_id", String(36), ForeignKey("batches.id"), nullable=True),
    Column("source_name", String(255), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # [{code, message, field}, …]: why the card needs a clerk (classify.model.ReviewReason)
    Column("review_reasons", JSON(), nullable=True),
    # 1 at registration, +1 with every update that changes something (ETag / If-Match)
    Column("version", Integer(), nullable=False, server_default=text("1")),
    UniqueConstraint("journal", "year", "seq"),
    CheckConstraint("status IN ('registered', 'needs review', 'verified')", name="status"),
    CheckConstraint("seq > 0", name="seq_positive"),
    Index(None, "status"),
    Index(None, "kind"),
    Index(None, "registered_at"),
)

attachments = Table(
    "attachments",
    metadata,
    _id(),
    Column("card_id", String(36), ForeignKey("cards.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("page", Integer(), nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger(), nullable=False),
    Column("media_type", String(127), nullable=False),
    Column("name", String(255), nullable=False),
    CheckConstraint("role IN ('original', 'pdf', 'text', 'hocr')", name="role"),
    Index(None, "card_id"),
    Index(None, "sha256"),
)

pages = Table(
    "pages",
    metadata,
    Column("card_id", String(36), ForeignKey("cards.id"), nullable=False),
    Column("number", Integer(), nullable=False),
    Column("text", Text(), nullable=False),
    Column("confidence", Float(), nullable=False),
    Column("rotation", Integer(), nullable=False),
    Column("skew", Float(), nullable=False),
    Column("source", String(16), nullable=False),
    PrimaryKeyConstraint("card_id", "number"),
    CheckConstraint("source IN ('ocr', 'text-layer')", name="source"),
    CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
)

journal_counters = Table(
    "journal_counters",
    metadata,
    Column("journal", String(32), nullable=False),
    Column("year", Integer(), nullable=False),
    Column("last_seq", Integer(), nullable=False),
    PrimaryKeyConstraint("journal", "year"),
)

# audit and outbox keep plain card ids: history and index feed outlive any card row.
audit = Table(
    "audit",
    metadata,
    _serial_id(),
    Column("card_id", String(36), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("changes", JSON(), nullable=False),
    Index(None, "card_id"),
)

outbox = Table(
    "outbox",
    metadata,
    _serial_id(),
    Column("card_id", String(36), nullable=False),
    Column("op", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("processed_at", UtcDateTime(), nullable=True),
    CheckConstraint("op IN ('upsert', 'delete')", name="op"),
    Index(None, "processed_at"),
)

#: The correspondents directory (classification matches names against it; clerks accept proposals).
organisations = Table(
    "organisations",
    metadata,
    _id(),
    Column("name", Text(), nullable=False),
    Column("key", String(255), nullable=False, unique=True),
    Column("tax_id", String(12), nullable=True),
    Column("status", String(16), nullable=False),
    Column("card_id", String(36), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("status IN ('accepted', 'proposed')", name="status"),
    Index(None, "tax_id"),
    Index(None, "status"),
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# -- the change feed --------------------------------------------------------------------------

#: Every creation, change and deletion of a card, and every quarantined file, in commit order.
#: ``seq`` comes from ``event_counter`` (not an autoincrement: see ``archive.events``). Card and
#: input ids are plain: an event outlives the card it reports.
events = Table(
    "events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False),
    Column("topic", String(32), nullable=False),
    Column("card_id", String(36), nullable=True),
    Column("input_id", String(36), nullable=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("data", JSON(), nullable=False),
    CheckConstraint(_one_of("topic", EVENT_TOPICS), name="topic"),
    Index(None, "card_id"),
)

#: One row (id 1): the last ``events.seq`` handed out.
event_counter = Table(
    "event_counter",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("value", BigInteger(), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# -- accounts ---------------------------------------------------------------------------------

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    Column("name", String(128), nullable=False, unique=True),
    Column("scope", String(16), nullable=False),
    # SHA-256 hex of the secret (see app/accounts.py for why a fast hash is right here)
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    CheckConstraint(_one_of("scope", TOKEN_SCOPES), name="scope"),
)

users = Table(
    "users",
    metadata,
    _id(),
    Column("name", String(128), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime(), nullable=True),
    CheckConstraint(_one_of("role", USER_ROLES), name="role"),
)

sessions = Table(
    "sessions",
    metadata,
    # SHA-256 hex of the session secret: the cookie's value is never stored
    Column("id", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Index(None, "user_id"),
    Index(None, "expires_at"),
)

#: Failed logins by key (``name:…`` or ``client:…``), for rate limiting; old rows are pruned.
login_failures = Table(
    "login_failures",
    metadata,
    _serial_id(),
    Column("key", String(255), nullable=False),
    Column("failed_at", UtcDateTime(), nullable=False),
    Index(None, "key", "failed_at"),
    Index(None, "failed_at"),
)

# -- webhooks ---------------------------------------------------------------------------------

webhooks = Table(
    "webhooks",
    metadata,
    _id(),
    Column("url", Text(), nullable=False),
    # kept as given: signing a delivery (HMAC-SHA256) needs the secret itself
    Column("secret", String(255), nullable=False),
    Column("topics", JSON(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime(), nullable=True),
    # the last events.seq already turned into deliveries (or skipped as another topic)
    Column("cursor", BigInteger(), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _serial_id(),
    Column("hook_id", String(36), ForeignKey("webhooks.id"), nullable=False),
    Column("event_seq", BigInteger(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("last_status", Integer(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    UniqueConstraint("hook_id", "event_seq"),
    CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
    Index(None, "status", "next_attempt_at"),
)
