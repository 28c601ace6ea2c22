"""What every part of the SQL catalog shares: the engine, the clock, the office's time zone and
the two kinds of transaction, and the rule that an outcome pointing at a card is final.

Each concern of the catalog (``intake``, ``cards``, ``outbox``, ``review``, ``organisations``)
is a mixin on ``CatalogBase``; ``archive.catalog.Catalog`` combines them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timezone, tzinfo

from sqlalchemy import Connection, Engine

from archive.db import transaction
from archive.model import Outcome

__all__ = ["ARCHIVE_STAGE", "FINAL_OUTCOMES", "CatalogBase", "utc_now"]

#: Outcomes that point at a card; they are never overwritten (the file may have left the folder).
FINAL_OUTCOMES: tuple[Outcome, ...] = ("archived", "duplicate")
#: The stage an input is at once it is archived or found to be a duplicate.
ARCHIVE_STAGE = "archive"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CatalogBase:
    """The catalog's collaborators, on a SQLAlchemy engine (see ``archive.db.make_engine``).

    ``clock`` gives the current time (aware); ``tz`` is the office's time zone, which decides
    the year a registration number belongs to.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = utc_now,
        tz: tzinfo = timezone.utc,
    ) -> None:
        self.engine = engine
        self._clock = clock
        self._tz = tz

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.engine.url.render_as_string(hide_password=True)!r})"

    def now(self) -> datetime:
        """The catalog's clock: the time it stamps on what it writes (tests set it)."""
        return self._clock()

    def _read(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine)

    def _write(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=True)
