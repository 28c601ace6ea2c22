"""Argument types that check their range, so a wrong number is a usage error (exit 2, one line
from argparse) rather than a traceback or a run that fails every page."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer from ``low`` to ``high`` (no upper bound when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is not from {low} to {high}" if high is not None else f"{value} is less than {low}")
        return value

    parse.__name__ = "number"  # argparse names the type in its message: "invalid number value"
    return parse


#: A port to listen on; 0 is any free one (the port got is logged), as KARTOTEKA_HTTP_PORT=0.
PORT = int_in(0, 65535)
