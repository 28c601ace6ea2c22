"""The outbox applied to the search index: ``IndexFeed`` (a thread of ``kartoteka run``) and
``update_index`` (``kartoteka ingest`` before it exits).

Ingestion never waits for it: cards are committed with an outbox row and this thread catches
up. If the index cannot be opened or written (Elasticsearch down, a ``kartoteka reindex``
holding the tantivy writer), it backs off from 1 s to 30 s and tries again; nothing is lost,
the rows stay pending. A new index (first start, or a schema change) is filled from the catalog.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

from archive.catalog import Catalog
from ingest.errors import TransientError
from search.backend import SearchIndex
from search.feed import apply_outbox, reindex

__all__ = ["IndexFeed", "update_index"]

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
MAX_BACKOFF = 30.0


class IndexFeed:
    def __init__(self, catalog: Catalog, open_index: Callable[[], SearchIndex], tz: ZoneInfo) -> None:
        self.catalog = catalog
        self.open_index = open_index
        self.tz = tz
        self._index: SearchIndex | None = None

    def _ensure_index(self) -> SearchIndex:
        if self._index is None:
            index = self.open_index()
            if index.needs_rebuild:
                totals = reindex(self.catalog, index, self.tz)
                log.info("search index filled from the catalog: %d cards", totals.cards)
            self._index = index
        return self._index

    def step(self) -> int:
        """Apply one batch; how many outbox rows it applied."""
        return apply_outbox(self.catalog, self._ensure_index(), self.tz)

    def run(self, stop: threading.Event) -> None:
        backoff = IDLE_SECONDS
        while not stop.is_set():
            try:
                applied = self.step()
                backoff = IDLE_SECONDS
            except TransientError as e:
                log.warning("search index feed: %s; retrying in %.0f s", e, backoff)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            except Exception:  # a bug: keep the service up, say it loudly, try again later
                log.exception("search index feed failed")
                self.close()
                stop.wait(MAX_BACKOFF)
                continue
            if not applied:
                stop.wait(IDLE_SECONDS)  # one small catalog query a second while idle
        self.close()

    def close(self) -> None:
        if self._index is not None:
            index, self._index = self._index, None
            try:
                index.close()
            except Exception:  # closing a broken connection must not hide the first error
                log.debug("closing the index failed", exc_info=True)


def update_index(catalog: Catalog, open_index: Callable[[], SearchIndex], tz: ZoneInfo) -> int:
    """Apply every pending outbox row now; how many were applied. TransientError when the index
    is down or busy (a running service writes it): it catches up later."""
    feed = IndexFeed(catalog, open_index, tz)
    applied = 0
    try:
        while step := feed.step():
            applied += step
    finally:
        feed.close()
    return applied
