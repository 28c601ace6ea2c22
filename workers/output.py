"""How the command line prints: JSON as one object, UTF-8 as it is, dates as ISO strings; and
progress bars on stderr, only where a person watches."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=1, default=str)
    sys.stdout.write("\n")


def progress(desc: str, unit: str, *, quiet: bool = False, total: int | None = None, leave: bool = True) -> tqdm:
    """A progress bar on stderr: shown only when stderr is a terminal, and never when ``quiet``
    (``--json``: the output is for a program). Count results apart from it: a bar that is not
    shown counts nothing (its ``n`` stays 0)."""
    from tqdm import tqdm  # not for the commands that show none

    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, disable=True if quiet else None, leave=leave)
