"""Account rows as JSON: dataclass fields, times as ISO strings, never a hash or a secret."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["row_json"]

#: Fields of a row never shown, whatever the row type.
HIDDEN = ("hash", "secret", "password")


def row_json(row: Any) -> dict[str, Any]:
    if not is_dataclass(row) or isinstance(row, type):
        raise TypeError(f"not a row: {row!r}")
    out: dict[str, Any] = {}
    for name, value in asdict(row).items():
        if any(word in name for word in HIDDEN):
            continue
        out[name] = value.isoformat() if isinstance(value, datetime | date) else value
    return out
