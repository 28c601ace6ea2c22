"""Recognition errors, placed in the shared tree (ingest/errors.py)."""

from __future__ import annotations

from ingest.errors import ConfigurationError, PermanentError, TransientError


class UnreadablePage(PermanentError):
    """Tesseract failed or timed out on this page; the page is reported, the others go on."""

    code = "page-failed"


class EngineFailed(TransientError):
    """The engine could not run (out of memory, killed): the same page may work later."""


class EngineMissing(ConfigurationError):
    """Tesseract or a language pack is not installed."""
