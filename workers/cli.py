"""The ``kartoteka`` command: parse arguments, load settings once, run a subcommand.

Errors from our tree become one line on stderr and an exit status (workers/exitcodes.py).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from ingest.errors import PipelineError
from workers import logs
from workers.exitcodes import ExitCode, exit_code_for
from app.settings import load_settings

#: Command → the module that defines it (its ``add_parser`` adds it). Only the module of the
#: command being run is imported: `kartoteka search` then starts without importing OCR, the
#: catalog or the broker (0.8 s of imports otherwise). ``--help`` and unknown commands import all.
COMMANDS = {
    "run": "workers.service_command",
    "watch": "workers.watch_command",
    "worker": "workers.worker_command",
    "ingest": "workers.ingest_command",
    "ocr": "workers.ocr_command",
    "card": "workers.catalog_commands",
    "ledger": "workers.catalog_commands",
    "verify": "workers.catalog_commands",
    "search": "workers.search_commands",
    "reindex": "workers.search_commands",
    "review": "workers.review_command",
    "serve": "workers.serve_command",
    "token": "workers.account_commands",
    "user": "workers.account_commands",
    "export": "workers.export_command",
    "status": "workers.status_command",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with only ``command``'s module when it is known."""
    parser = argparse.ArgumentParser(prog="kartoteka", description="Scanning, OCR and archive ingestion with search.")
    parser.add_argument("--settings", type=Path, metavar="FILE", help="TOML settings file (else KARTOTEKA_SETTINGS)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(name).add_parser(sub)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The command word of ``argv`` (skipping the global options), or None (e.g. ``--help``)."""
    words = iter(argv)
    for word in words:
        if word == "--settings":
            next(words, None)
        elif not word.startswith("-"):
            return word
        elif word in ("-h", "--help"):
            return None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_of(argv)).parse_args(argv)
    try:
        settings = load_settings(os.environ, file=args.settings)
        level = "DEBUG" if args.verbose else getattr(args, "log_level", None) or "WARNING"
        logs.configure(level, settings.log_format)
        return int(args.run(args, settings))
    except PipelineError as e:
        print(f"kartoteka: {e}", file=sys.stderr)
        return exit_code_for(e)
    except KeyboardInterrupt:
        print("kartoteka: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    finally:
        logging.shutdown()


if __name__ == "__main__":
    sys.exit(main())
