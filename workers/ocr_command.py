"""``kartoteka ocr FILE... [--json] [--lang L] [--pdf OUT]``: recognise files without archiving."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from ingest.errors import PermanentError
from ocr.config import OcrConfig
from ocr.engines import make_engine
from ocr.model import FileResult, PageResult
from ocr.run import recognize_files, searchable_pdf, share_cores, workers
from ocr.sources import count_pages
from workers.exitcodes import ExitCode, UsageError
from workers.output import progress
from app.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ocr", help="recognise files without archiving them")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--lang", help="Tesseract languages, e.g. rus+eng or kaz+rus (default from settings)")
    p.add_argument("--pdf", type=Path, metavar="OUT", help="write the searchable PDF: OUT.pdf for one file, else an existing folder (NAME.pdf each)")
    p.add_argument("--jobs", type=int, help="pages recognised at once (default: one per core)")
    p.add_argument("--dpi", type=int, help="resolution PDF pages are rasterised at")
    p.add_argument("--page-timeout", type=float, help="seconds Tesseract may spend on one page")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    cfg = _config(args, settings)
    targets = _pdf_targets(args.files, args.pdf)
    share_cores(workers(cfg))
    engine = make_engine(cfg)
    # Named so, not «file disappeared before it could be read» (said of a hot folder's file).
    missing = {str(f) for f in args.files if not os.path.lexists(f)}
    named = len(args.files) > 1
    failures = 0
    results: list[FileResult] = []
    total = sum(count_pages(f) for f in args.files)
    with tempfile.TemporaryDirectory(prefix="kt-spool-") as spool, progress(
        "ocr", "page", quiet=args.json, total=total or None, leave=False
    ) as bar:

        def on_page(path: Path, page: PageResult) -> None:
            bar.update(1)

        for result in recognize_files(
            args.files, cfg, engine, spool=Path(spool) if targets else None, on_page=on_page
        ):
            if result.path in missing:
                result = replace(result, error="no such file")
            failures += _report(result, bar)
            target = targets.get(result.path)
            if target is not None and result.error is None:
                failures += _write_pdf(result, target, bar)
            if args.json:
                results.append(result)
            else:
                _print_text(result, named=named)
    if args.json:
        json.dump({"files": [r.summary() for r in results]}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    return ExitCode.BAD_INPUT if failures else ExitCode.OK


def _config(args: argparse.Namespace, settings: Settings) -> OcrConfig:
    """The settings' OCR config with the options applied; UsageError for an option out of range."""
    overrides = {
        k: v
        for k, v in {"languages": args.lang, "jobs": args.jobs, "dpi": args.dpi, "page_timeout": args.page_timeout}.items()
        if v is not None
    }
    try:
        # Validated (model_copy would not check): «--dpi 0» or «--jobs -1» is a usage error here,
        # not a traceback, or a run in which every page fails (--page-timeout 0).
        return OcrConfig.model_validate({**settings.ocr.model_dump(), **overrides})
    except ValidationError as e:
        first = e.errors()[0]
        option = "--" + str(first["loc"][0]).replace("_", "-").replace("languages", "lang")
        raise UsageError(f"{option}: {first['msg'].removeprefix('Value error, ')}") from None


def _write_pdf(result: FileResult, target: Path, bar: tqdm) -> int:
    """Write the file's searchable PDF; 1 (and a line on stderr) when it could not be written."""
    try:
        searchable_pdf(result, target)
    except (PermanentError, OSError) as e:  # OSError: the disk filled up, no permission
        reason = e.strerror or str(e) if isinstance(e, OSError) else str(e)
        bar.write(f"kartoteka: {result.path}: no PDF written to {target}: {reason}", file=sys.stderr)
        return 1
    return 0


def _pdf_targets(files: list[Path], out: Path | None) -> dict[str, Path]:
    """Where each file's PDF goes, decided before any page is recognised (UsageError when it
    cannot be): into ``out`` as ``NAME.pdf`` when it is a folder; to ``out`` itself when it ends
    in ``.pdf`` (or is a file) and one file is given. A folder is never created: a mistyped one
    would silently collect the PDFs somewhere else."""
    if out is None:
        return {}
    if out.is_dir():
        return _distinct({str(f): out / f"{f.stem}.pdf" for f in files})
    if out.suffix.lower() != ".pdf" and not out.exists():
        raise UsageError(f"{out}: no such folder: create it first (or name the PDF NAME.pdf, for one file)")
    if len(files) > 1:
        raise UsageError(f"{out}: {len(files)} files need a folder for their PDFs, not one PDF file")
    if not out.parent.is_dir():
        raise UsageError(f"{out}: no folder {out.parent}: create it first")
    return _distinct({str(files[0]): out})


def _distinct(targets: dict[str, Path]) -> dict[str, Path]:
    """``targets`` if no two files write one PDF and no PDF overwrites an input; else UsageError."""
    inputs = {Path(f).resolve() for f in targets}
    seen: dict[Path, str] = {}
    for source, target in targets.items():
        where = target.resolve()
        if where in inputs:
            raise UsageError(f"{target}: the PDF of {source} would overwrite an input: write the PDFs elsewhere")
        if where in seen:
            raise UsageError(f"{target}: the PDFs of {seen[where]} and {source} would both be written there: "
                             "rename one of them, or run them one at a time")  # fmt: skip
        seen[where] = source
    return targets


def _report(result: FileResult, bar: tqdm) -> int:
    """One line on stderr per failed file or page; returns how many."""
    if result.error:
        bar.write(f"kartoteka: {result.path}: {result.error}", file=sys.stderr)
        return 1
    for page in result.failed_pages:
        bar.write(f"kartoteka: {result.path}: page {page.number}: {page.error}", file=sys.stderr)
    return len(result.failed_pages)


def _print_text(result: FileResult, *, named: bool) -> None:
    """The pages' text; each page headed with the file's name and page number when there are
    several files (``named``) or pages, so the texts do not run together."""
    if result.error:
        return
    out = sys.stdout
    headed = named or len(result.pages) > 1
    for page in result.pages:
        if headed:
            out.write(f"--- {result.path} page {page.number} ---\n")
        if page.text:
            out.write(page.text + "\n")
    out.flush()
