"""Recognition errors, placed in the shared tree (ingest/errors.py), and the words they carry
for a page past its time limit or a crashed engine (the real engines and the scripted one say
the same, so tests and people read one message)."""

from __future__ import annotations

from ingest import reasons
from ingest.errors import ConfigurationError, PermanentError, TransientError

#: A page the engine crashed on (a worker process died): permanent, the same page would crash again.
PAGE_CRASHED = reasons.PAGE_CRASHED


def page_timed_out(timeout: float) -> str:
    """The message of a page that took longer than its ``timeout`` seconds."""
    return reasons.PAGE_TIMED_OUT % {"seconds": f"{timeout:g}"}


class UnreadablePage(PermanentError):
    """Tesseract failed or timed out on this page; the page is reported, the others go on."""

    code = "page-failed"


class EngineFailed(TransientError):
    """The engine could not run (out of memory, killed): the same page may work later."""


class EngineMissing(ConfigurationError):
    """Tesseract or a language pack is not installed."""
