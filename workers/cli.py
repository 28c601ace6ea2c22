"""The ``kartoteka`` command: parse arguments, load settings once, run a subcommand.

Errors from our tree become one line on stderr and an exit status (workers/exitcodes.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ingest.errors import PipelineError
from workers import (
    catalog_commands,
    ingest_command,
    logs,
    ocr_command,
    review_command,
    search_commands,
    service_command,
)
from workers.exitcodes import ExitCode, exit_code_for
from workers.settings import load_settings

COMMANDS = (service_command, ingest_command, ocr_command, catalog_commands, search_commands, review_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kartoteka", description="Scanning, OCR and archive ingestion with search.")
    parser.add_argument("--settings", type=Path, metavar="FILE", help="TOML settings file (else KARTOTEKA_SETTINGS)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(file=args.settings)
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
