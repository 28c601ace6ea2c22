"""Keyset paging in SQL: the rows that come strictly after a position in a sort order.

The condition is spelled with AND and OR rather than a row-value comparison, so every database
runs it (and can still use an index on the leading column).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

__all__ = ["rows_after"]


def rows_after(
    columns: Sequence[ColumnElement[Any]], position: Sequence[Any]
) -> ColumnElement[bool]:
    """Rows after ``position`` in the ascending order of ``columns`` (the last one unique)."""
    if not columns or len(columns) != len(position):
        raise ValueError(f"a position needs one value per column, not {list(position)!r}")
    condition: ColumnElement[bool] = columns[-1] > position[-1]
    for column, value in zip(reversed(columns[:-1]), reversed(position[:-1])):
        condition = or_(column > value, and_(column == value, condition))
    return condition
