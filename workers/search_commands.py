"""``kartoteka search`` and ``kartoteka reindex`` (filled in by the search issue)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """No subcommand yet."""
