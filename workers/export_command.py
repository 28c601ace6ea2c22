"""``kartoteka export --after CURSOR``: the change feed as JSON Lines on stdout.

The same records as ``GET /api/v1/changes``, one per line, oldest first; progress and the
cursor to resume from go to stderr. Memory holds one page of changes however large the archive.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.changes import export_changes
from app.services import Services
from app.settings import Settings
from archive.model import EVENT_TOPICS
from workers.exitcodes import ExitCode
from workers.output import progress


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="the change feed as JSON Lines (every change after a cursor)")
    p.add_argument("--after", metavar="CURSOR", help="continue after this cursor (default: from the start)")
    p.add_argument("--topic", action="append", choices=EVENT_TOPICS, help="only this topic (repeatable)")
    p.set_defaults(run=export)


def export(args: argparse.Namespace, settings: Settings) -> int:
    out = sys.stdout
    count = 0  # not the bar's: without a terminal it is off and counts nothing
    with progress("export", "change") as bar:

        def write(change: dict[str, Any]) -> None:
            nonlocal count
            out.write(json.dumps(change, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
            bar.update()

        cursor = export_changes(Services(settings), after=args.after, write=write, topics=args.topic)
    out.flush()
    print(f"{count} {'change' if count == 1 else 'changes'}; continue with: kartoteka export --after {cursor}", file=sys.stderr)
    return ExitCode.OK
