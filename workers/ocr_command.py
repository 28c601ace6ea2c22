"""``kartoteka ocr FILE... [--json] [--lang L] [--pdf OUT]``: recognise files without archiving."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import tempfile
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from ingest.errors import PermanentError
from ocr.config import OcrConfig
from ocr.engines import make_engine
from ocr.model import FileResult, PageResult
from ocr.run import recognize_files, searchable_pdf, share_cores, workers
from ocr.sources import count_pages
from workers.exitcodes import ExitCode
from app.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ocr", help="recognise files without archiving them")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--lang", help="Tesseract languages, e.g. rus+eng or kaz+rus (default from settings)")
    p.add_argument("--pdf", type=Path, metavar="OUT", help="write the searchable PDF (a folder when several files)")
    p.add_argument("--jobs", type=int, help="pages recognised at once (default: one per core)")
    p.add_argument("--dpi", type=int, help="resolution PDF pages are rasterised at")
    p.add_argument("--page-timeout", type=float, help="seconds Tesseract may spend on one page")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    overrides = {
        k: v
        for k, v in {"languages": args.lang, "jobs": args.jobs, "dpi": args.dpi, "page_timeout": args.page_timeout}.items()
        if v is not None
    }
    try:
        # Validated (model_copy would not check): «--dpi 0» or «--jobs -1» is a usage error here,
        # not a traceback, or a run in which every page fails (--page-timeout 0).
        cfg = OcrConfig.model_validate({**settings.ocr.model_dump(), **overrides})
    except ValidationError as e:
        first = e.errors()[0]
        option = "--" + str(first["loc"][0]).replace("_", "-").replace("languages", "lang")
        print(f"kartoteka: {option}: {first['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        targets = _pdf_targets(args.files, args.pdf)
    except OSError as e:
        print(f"kartoteka: {args.pdf}: cannot write the PDF there ({e.strerror or e})", file=sys.stderr)
        return ExitCode.USAGE
    share_cores(workers(cfg))
    engine = make_engine(cfg)
    failures = 0
    results: list[FileResult] = []
    total = sum(count_pages(f) for f in args.files)
    with tempfile.TemporaryDirectory(prefix="kt-spool-") as spool, tqdm(
        total=total or None, unit="page", desc="ocr", file=sys.stderr, disable=None, leave=False
    ) as bar:

        def on_page(path: Path, page: PageResult) -> None:
            bar.update(1)

        for result in recognize_files(
            args.files, cfg, engine, spool=Path(spool) if targets else None, on_page=on_page
        ):
            failures += _report(result, bar)
            target = targets.get(result.path)
            if target is not None and result.error is None:
                try:
                    searchable_pdf(result, target)
                except (PermanentError, OSError) as e:  # OSError: the disk filled up, no permission
                    failures += 1
                    reason = e.strerror or str(e) if isinstance(e, OSError) else str(e)
                    bar.write(f"kartoteka: {result.path}: no PDF written to {target}: {reason}", file=sys.stderr)
            if args.json:
                results.append(result)
            else:
                _print_text(result)
    if args.json:
        json.dump({"files": [r.summary() for r in results]}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    return ExitCode.BAD_INPUT if failures else ExitCode.OK


def _pdf_targets(files: list[Path], out: Path | None) -> dict[str, Path]:
    """Where each file's PDF goes; OSError, before any page is recognised, when it cannot."""
    if out is None:
        return {}
    if len(files) == 1 and not out.is_dir():
        if not out.parent.is_dir():
            raise FileNotFoundError(errno.ENOENT, f"no folder {out.parent}")
        return {str(files[0]): out}
    out.mkdir(parents=True, exist_ok=True)
    return {str(f): out / f"{f.stem}.pdf" for f in files}


def _report(result: FileResult, bar: tqdm) -> int:
    """One line on stderr per failed file or page; returns how many."""
    if result.error:
        bar.write(f"kartoteka: {result.path}: {result.error}", file=sys.stderr)
        return 1
    for page in result.failed_pages:
        bar.write(f"kartoteka: {result.path}: page {page.number}: {page.error}", file=sys.stderr)
    return len(result.failed_pages)


def _print_text(result: FileResult) -> None:
    if result.error:
        return
    out = sys.stdout
    many = len(result.pages) > 1
    for page in result.pages:
        if many:
            out.write(f"--- {result.path} page {page.number} ---\n")
        if page.text:
            out.write(page.text + "\n")
    out.flush()
