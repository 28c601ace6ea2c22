"""``kartoteka ingest PATH... [--json]``: one-shot ingestion with a progress bar.

Files given on the command line are archived like hot-folder files but never moved or deleted:
a folder is one batch of its files, a file a batch of one. Exits when every file has an outcome.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from zoneinfo import ZoneInfo

from tqdm import tqdm

from archive.model import InputFileRow
from ingest.errors import TransientError
from search.service import open_index
from workers import pipeline
from workers.exitcodes import ExitCode
from workers.indexer import IndexFeed
from workers.services import Services, build_services
from workers.settings import Settings

ATTEMPTS = 3


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingest", help="archive files or folders now, with a progress bar")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--json", action="store_true", help="print the ledger of these files as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    pending: list[str] = []
    rows: dict[str, InputFileRow] = {}
    for root, files in pipeline.files_of(args.paths):
        source = f"{pipeline.CLI_PREFIX}{root.resolve()}"
        batch_id = services.catalog.open_batch(source, root.name)
        for path in files:
            row = pipeline.intake_file(path.resolve(), batch_id, services, pending.append)
            rows[row.id] = row
    with tqdm(total=len(rows), unit="file", desc="ingest", file=sys.stderr, disable=None) as bar:
        bar.update(len(rows) - len(pending))
        with ThreadPoolExecutor(max_workers=settings.worker_threads) as pool:
            futures = {pool.submit(_process, i, services): i for i in pending}
            for fut in as_completed(futures):
                row = fut.result()
                rows[row.id] = row
                bar.update(1)
                if row.outcome == "quarantined":
                    bar.write(f"kartoteka: {row.path}: {row.reason}", file=sys.stderr)
    _update_index(settings, services)
    final = [services.catalog.get_input(i) or r for i, r in rows.items()]
    totals = Counter(r.outcome for r in final)
    if args.json:
        out = {"files": [pipeline.ledger_entry(r) for r in final], "totals": dict(totals)}
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for r in final:
            print(f"{r.outcome:12} {r.card_number or '-':16} {r.path}" + (f"  ({r.reason})" if r.reason else ""))
        print(", ".join(f"{n} {k}" for k, n in sorted(totals.items())), file=sys.stderr)
    if totals.get("pending"):
        return ExitCode.TRY_AGAIN
    return ExitCode.BAD_INPUT if totals.get("quarantined") else ExitCode.OK


def _update_index(settings: Settings, services: Services) -> None:
    """Bring the search index up to date, so what was ingested can be searched at once. An
    index that is down or busy (a running service writes it) is left to catch up later."""
    try:
        feed = IndexFeed(services.catalog, lambda: open_index(settings.search_url, settings.data_dir), ZoneInfo(settings.timezone))
        while feed.step():
            pass
        feed.close()
    except TransientError as e:
        print(f"kartoteka: the search index was not updated now ({e}); it catches up later", file=sys.stderr)


def _process(input_id: str, services: Services) -> InputFileRow:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return pipeline.process_input(input_id, services)
        except TransientError as e:
            if attempt == ATTEMPTS:
                row = services.catalog.get_input(input_id)
                assert row is not None
                print(f"kartoteka: {row.path}: {e}", file=sys.stderr)
                return row
    raise AssertionError("unreachable")
