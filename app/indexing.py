"""The outbox applied to the search index: ``IndexFeed`` (a thread of ``kartoteka run``) and
``update_index`` (``kartoteka ingest`` before it exits).

Ingestion never waits for it: cards are committed with an outbox row and this thread catches
up. If the index cannot be opened or written (Elasticsearch down, a ``kartoteka reindex``
holding the tantivy writer), it backs off from 1 s to 30 s and tries again; nothing is lost,
the rows stay pending. A new index (first start, or a schema change) is filled from the catalog.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING
from contextlib import AbstractContextManager
from zoneinfo import ZoneInfo

from archive.catalog import Catalog
from ingest.errors import TransientError
from search.backend import SearchIndex
from search.feed import apply_outbox, reindex

if TYPE_CHECKING:
    from app.services import Services

__all__ = ["IndexFeed", "feed_of", "update_index"]

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
MAX_BACKOFF = 30.0


#: Held while a feed applies a batch: True when this feed holds it (see ``feed_of``).
Exclusive = Callable[[], AbstractContextManager[bool]]


def _alone() -> AbstractContextManager[bool]:
    return contextlib.nullcontext(True)


class IndexFeed:
    """Applies the outbox to the index, a batch a step. ``exclusive`` keeps two feeds on one
    index (two `watch` processes, `watch` and `ingest`) from applying at once: one that read a
    card, then wrote it after the other applied its deletion, left the deleted card searchable
    with no outbox row to put it right. A feed that finds it held skips the step."""

    def __init__(
        self, catalog: Catalog, open_index: Callable[[], SearchIndex], tz: ZoneInfo, exclusive: Exclusive = _alone
    ) -> None:
        self.catalog = catalog
        self.open_index = open_index
        self.tz = tz
        self.exclusive = exclusive
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
        """Apply one batch; how many outbox rows it applied (0 while another feed applies)."""
        with self.exclusive() as held:
            if not held:
                return 0
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


def feed_of(services: Services) -> IndexFeed:
    """The feed of ``services``' catalog and index, exclusive across processes on the data
    directory (a lock file beside the groups' locks)."""
    from app.pipeline import group_lock

    return IndexFeed(services.catalog, services.open_index, services.tz, lambda: group_lock("index-feed", services))


def update_index(catalog: Catalog, open_index: Callable[[], SearchIndex], tz: ZoneInfo, exclusive: Exclusive = _alone) -> int:
    """Apply every pending outbox row now; how many were applied. TransientError when the index
    is down or busy (a running service writes it): it catches up later."""
    feed = IndexFeed(catalog, open_index, tz, exclusive)
    applied = 0
    try:
        while step := feed.step():
            applied += step
    finally:
        feed.close()
    return applied
