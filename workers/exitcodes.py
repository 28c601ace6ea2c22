"""Exit statuses of the command line, and the mapping from our error tree to them."""

from __future__ import annotations

import enum

from archive.errors import InvalidCursor
from ingest.errors import ConfigurationError, PermanentError, PipelineError, TransientError


class ExitCode(enum.IntEnum):
    OK = 0
    #: some input was bad (rejected or quarantined); the rest was processed
    BAD_INPUT = 1
    #: the command line itself was wrong
    USAGE = 2
    #: the installation or settings must be fixed
    CONFIGURATION = 3
    #: something outside the input failed; running again may work
    TRY_AGAIN = 4
    INTERRUPTED = 130


class UsageError(PipelineError):
    """The command line asks for what cannot be done as written (an option past its limit, no
    password where one is needed): exit status 2, the message saying what to write instead."""

    code = "usage"


def exit_code_for(error: PipelineError) -> ExitCode:
    if isinstance(error, UsageError):
        return ExitCode.USAGE
    if isinstance(error, InvalidCursor):
        return ExitCode.USAGE  # a cursor only ever comes from the command line's --after
    if isinstance(error, ConfigurationError):
        return ExitCode.CONFIGURATION
    if isinstance(error, TransientError):
        return ExitCode.TRY_AGAIN
    if isinstance(error, PermanentError):
        return ExitCode.BAD_INPUT
    return ExitCode.TRY_AGAIN
