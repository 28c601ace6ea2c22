"""How the archive is doing right now, from the catalog: what ``/metrics`` reports at each scrape.

A handful of cheap queries over indexed columns (the ledger grouped by outcome, the cards
registered in the last hour, ten minutes and minute, the number of cards), so scraping every few
seconds costs the catalog next to nothing whatever the archive's size. "Pages recognised" are
the pages of the cards registered in the window (a duplicate is found before recognition and
adds none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.services import Services
from archive.model import Outcome

__all__ = ["PAGES_WINDOW", "Status", "status"]

#: The window pages per minute are averaged over.
PAGES_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Status:
    at: datetime
    #: input files by outcome, every outcome present
    outcomes: dict[Outcome, int]
    cards: int
    cards_last_minute: int
    cards_last_hour: int
    #: pages of the cards registered in the last PAGES_WINDOW
    pages_in_window: int
    #: webhook deliveries by status (``failed``: given up after a day of retries)
    deliveries: dict[str, int]

    @property
    def pending(self) -> int:
        """Input files waiting to be processed: the queue's depth as the catalog sees it."""
        return self.outcomes.get("pending", 0)

    @property
    def pages_per_minute(self) -> float:
        return self.pages_in_window / (PAGES_WINDOW.total_seconds() / 60)


def status(services: Services) -> Status:
    """The archive's counts now, by the catalog's clock."""
    catalog = services.catalog
    now = catalog.now()
    minute, _ = catalog.count_registered(now - timedelta(minutes=1))
    hour, _ = catalog.count_registered(now - timedelta(hours=1))
    _, pages = catalog.count_registered(now - PAGES_WINDOW)
    return Status(
        at=now,
        outcomes=catalog.outcome_counts(),
        cards=catalog.count_cards(),
        cards_last_minute=minute,
        cards_last_hour=hour,
        pages_in_window=pages,
        deliveries={str(k): v for k, v in catalog.count_deliveries().items()},
    )
