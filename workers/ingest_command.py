"""``kartoteka ingest PATH... [--json]``: app/intake.py with a progress bar.

Files given on the command line are archived like hot-folder files but never moved or deleted:
a folder is one batch of its files, a file a batch of one. Exits when every file has an outcome.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.intake import IngestReport, ingest_paths, shown
from app.records import ledger_entry
from app.services import Services
from app.settings import Settings
from archive.model import InputFileRow
from ocr import run as ocr_run
from workers.exitcodes import ExitCode
from workers.output import print_json, progress


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingest", help="archive files or folders now, with a progress bar")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--json", action="store_true", help="print the ledger of these files as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    ocr_run.share_cores(ocr_run.workers(settings.ocr))
    services = Services(settings)
    try:
        with progress("ingest", "file", quiet=args.json) as bar:

            def on_total(total: int, done: int) -> None:
                bar.total = total
                bar.update(done)

            def on_file(row: InputFileRow, problem: str | None) -> None:
                bar.update(1)
                if problem:
                    bar.write(f"kartoteka: {problem}", file=sys.stderr)

            report = ingest_paths(services, args.paths, on_total=on_total, on_file=on_file)
            for _, problem in report.unrecorded:
                bar.write(f"kartoteka: {problem}", file=sys.stderr)
            for path, reason in report.refused:
                bar.write(f"kartoteka: {shown(path)}: {reason}", file=sys.stderr)
    finally:
        services.close()
    for problem in report.problems:
        if "search index" in problem:
            print(f"kartoteka: {problem}", file=sys.stderr)
    _print_outcomes(report, as_json=args.json)
    totals = report.totals
    if totals.get("pending"):
        return ExitCode.TRY_AGAIN
    return ExitCode.BAD_INPUT if totals.get("quarantined") or totals.get("refused") else ExitCode.OK


def _unrecorded_entry(path: Path, outcome: str, reason: str) -> dict[str, object]:
    """A ledger entry (the keys of ``ledger_entry``) for a path with no ledger row."""
    return {"input": None, "path": shown(path), "sha256": None, "batch": None, "outcome": outcome,
            "card": None, "registration_number": None, "reason": reason, "stage": "ingest"}  # fmt: skip


def _print_outcomes(report: IngestReport, *, as_json: bool) -> None:
    """Every file's outcome (stdout: a table, or the ledger as JSON) and the totals (stderr)."""
    totals = report.totals
    if as_json:
        files = [ledger_entry(r) for r in report.files]
        files += [_unrecorded_entry(path, "pending", problem) for path, problem in report.unrecorded]
        files += [_unrecorded_entry(path, "refused", reason) for path, reason in report.refused]
        print_json({"files": files, "totals": totals})
        return
    for r in report.files:
        print(f"{r.outcome:12} {r.card_number or '-':16} {r.path}" + (f"  ({r.reason})" if r.reason else ""))
    for path, _ in report.unrecorded:
        print(f"{'pending':12} {'-':16} {path}  (not recorded yet)")
    for path, reason in report.refused:
        print(f"{'refused':12} {'-':16} {shown(path)}  ({reason})")
    print(", ".join(f"{n} {k}" for k, n in sorted(totals.items())), file=sys.stderr)
