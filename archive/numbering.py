"""Registration numbers: one gap-free sequence per journal and year.

The counter row ``journal_counters(journal, year)`` is incremented inside the transaction that
inserts the card, so the number and the card commit or roll back together: no gaps, no
repeats. Concurrent registrations queue on the counter: on SQLite the write transaction already
holds the database's write lock (``BEGIN IMMEDIATE``); on PostgreSQL the ``UPDATE`` takes the
row lock, and a waiting transaction re-reads the committed value before incrementing it.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from archive.rows import insert_ignore
from archive.tables import journal_counters

__all__ = ["next_seq"]


def next_seq(conn: Connection, journal: str, year: int) -> int:
    """Take the next number of (journal, year), starting at 1. Call inside a write transaction."""
    insert_ignore(conn, journal_counters, {"journal": journal, "year": year, "last_seq": 0})
    key = (journal_counters.c.journal == journal, journal_counters.c.year == year)
    conn.execute(
        update(journal_counters).where(*key).values(last_seq=journal_counters.c.last_seq + 1)
    )
    seq = conn.execute(select(journal_counters.c.last_seq).where(*key)).scalar_one()
    return int(seq)
