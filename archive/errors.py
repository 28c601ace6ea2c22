"""Errors the archive raises, named by what the caller should do (see ``ingest.errors``)."""

from __future__ import annotations

from ingest.errors import ConfigurationError, DiskFull, PermanentError, TransientError

__all__ = [
    "BatchNotFound",
    "BlobNotFound",
    "BlobStoreFull",
    "BlobStoreUnavailable",
    "CardNotFound",
    "CatalogFull",
    "CatalogNotMigrated",
    "CatalogUnavailable",
    "InputNotFound",
    "InvalidChange",
    "InvalidCursor",
    "NameTaken",
    "StaleVersion",
    "TokenNotFound",
    "UserNotFound",
    "WebhookNotFound",
]


class BatchNotFound(PermanentError):
    """No batch has this id."""

    code = "batch-not-found"


class CardNotFound(PermanentError):
    """No card has this id or registration number."""

    code = "card-not-found"


class InputNotFound(PermanentError):
    """No ledger row has this id: the file was never recorded with ``record_input``."""

    code = "input-not-found"


class InvalidChange(PermanentError):
    """A card update names a field that cannot be changed, or gives it a value it cannot take."""

    code = "invalid-change"


class InvalidCursor(PermanentError):
    """A paging cursor that this catalog did not hand out (or one for another listing)."""

    code = "invalid-cursor"


class StaleVersion(PermanentError):
    """The card changed since the caller read it (``If-Match`` names an older version)."""

    code = "stale-version"

    def __init__(self, message: str, *, current: int, stage: str = "") -> None:
        super().__init__(message, stage=stage)
        #: the card's version now: the caller reads the card again and reapplies its change
        self.current = current


class NameTaken(PermanentError):
    """An API token or account with this name exists already."""

    code = "name-taken"


class TokenNotFound(PermanentError):
    """No API token has this id or name."""

    code = "token-not-found"


class UserNotFound(PermanentError):
    """No account has this id or name."""

    code = "user-not-found"


class WebhookNotFound(PermanentError):
    """No webhook has this id."""

    code = "webhook-not-found"


class BlobNotFound(PermanentError):
    """The blob store has no file for this checksum."""

    code = "blob-not-found"


class BlobStoreUnavailable(TransientError):
    """Writing to the blob store failed (full disk, lost share): the same write may work later."""

    code = "blob-store-unavailable"


class BlobStoreFull(DiskFull, BlobStoreUnavailable):
    """The disk holding the blob store is full: free space, and the same write will work."""

    code = "disk-full"


class CatalogUnavailable(TransientError):
    """The catalog database is locked, busy or unreachable: retry later."""

    code = "catalog-unavailable"


class CatalogFull(DiskFull, CatalogUnavailable):
    """SQLite says "database or disk is full" (or PostgreSQL "could not extend file"): free space."""

    code = "disk-full"


class CatalogNotMigrated(ConfigurationError):
    """The catalog schema is missing or old: run the migrations (``kartoteka db upgrade``)."""

    code = "catalog-not-migrated"
