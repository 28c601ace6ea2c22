"""The error tree every stage raises from, named by what the caller should do.

    PipelineError
    ├── PermanentError      the input is bad: never retry, quarantine it with the message
    │   └── UnsupportedInput    not a PDF or image we can read, encrypted, truncated, too large
    ├── TransientError      something outside the input failed: retry later
    └── ConfigurationError  the installation is wrong (missing language pack, bad setting): fix it

Every message is one line a person can act on: what is wrong and what to do next.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error a stage raises on purpose."""

    #: A short machine-readable name for ledgers and JSON output.
    code: str = "error"

    def __init__(self, message: str, *, stage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.stage = stage

    def __str__(self) -> str:
        return self.message


class PermanentError(PipelineError):
    """The input cannot be processed as it is; retrying will not help."""

    code = "rejected"


class UnsupportedInput(PermanentError):
    """The file is not something we can read: wrong type, damaged, encrypted or too large."""

    code = "unsupported"


class TransientError(PipelineError):
    """A failure outside the input (a busy service, a full disk): the same input may work later."""

    code = "retry"


class ConfigurationError(PipelineError):
    """The installation or settings are wrong; an administrator must fix them."""

    code = "configuration"
