"""The error tree every stage raises from, named by what the caller should do.

    PipelineError
    ├── PermanentError      the input is bad: never retry, quarantine it with the message
    │   └── UnsupportedInput    not a PDF or image we can read, encrypted, truncated, too large
    ├── TransientError      something outside the input failed: retry later
    │   └── DiskFull            the disk holding the data directory is full: free space
    └── ConfigurationError  the installation is wrong (missing language pack, bad setting): fix it

Every message is one line a person can act on: what is wrong and what to do next.
"""

from __future__ import annotations

import errno
import os


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


#: What an OSError says when a write found no room: no space left, or a quota exceeded.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class DiskFull(TransientError):
    """A write to the data directory found no room: the input stays pending, never quarantined.

    ``path`` is what was being written; the message says what to do about it.
    """

    code = "disk-full"

    def __init__(self, path: str | os.PathLike[str], *, stage: str = "", detail: str = "") -> None:
        self.path = os.fspath(path)
        why = f" ({detail})" if detail else ""
        super().__init__(
            f"the disk holding {self.path} is full{why}: free space or move KARTOTEKA_DATA_DIR; "
            "the files stay pending and are processed once there is room",
            stage=stage,
        )


def is_disk_full(error: BaseException) -> bool:
    """True for an OSError that means the filesystem (or the user's quota) has no room left."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


class ConfigurationError(PipelineError):
    """The installation or settings are wrong; an administrator must fix them."""

    code = "configuration"
