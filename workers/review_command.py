"""``kartoteka review``: the review queue on the command line (filled in by the classification issue)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """No subcommand yet."""
