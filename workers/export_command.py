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


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="the change feed as JSON Lines (every change after a cursor)")
    p.add_argument("--after", metavar="CURSOR", help="continue after this cursor (default: from the start)")
    p.add_argument("--topic", action="append", choices=EVENT_TOPICS, help="only this topic (repeatable)")
    p.set_defaults(run=export)


def export(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    out = sys.stdout
    with tqdm(unit="change", desc="export", file=sys.stderr, disable=None) as bar:

        def write(change: dict[str, Any]) -> None:
            out.write(json.dumps(change, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            bar.update()

        cursor = export_changes(Services(settings), after=args.after, write=write, topics=args.topic)
        count = bar.n
    out.flush()
    print(f"{count} changes; continue with: kartoteka export --after {cursor}", file=sys.stderr)
    return ExitCode.OK
