"""The catalog: batches, the input ledger, registration cards, their history, the outbox, the
review queue, the correspondents directory, the change feed, API accounts and webhooks, one
small protocol per concern.

Callers type against the narrow protocol they need; ``Catalog`` is the one implementation, on
SQLAlchemy (SQLite or PostgreSQL). Every method is one short transaction and is idempotent,
so a stage that runs twice for the same input changes nothing the second time (durability
rule 3). Writes take SQLite's write lock at ``BEGIN`` (``archive.db.transaction(write=True)``),
so processes sharing one file queue up; on PostgreSQL, row locks on the input and on the
journal counter do the same job.

Modules: ``base`` (engine, clock, transactions), ``intake`` (``IntakeLedger``: batches and the
ledger), ``cards`` (``CardStore``: registration, numbering, updates), ``outbox`` (``Outbox``),
``review`` (``ReviewStore``: review queue and training data), ``organisations``
(``OrganisationDirectory``), ``feed`` (``ChangeFeed``: events in commit order), ``accounts``
(``AccountStore``: API tokens, people, sessions, failed logins), ``webhooks``
(``WebhookStore``: receivers and their deliveries), and ``paging`` (keyset conditions for
cursors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archive.catalog.accounts import AccountStore, SqlAccounts
from archive.catalog.base import utc_now
from archive.catalog.cards import CardStore, SqlCards
from archive.catalog.feed import ChangeFeed, SqlChangeFeed
from archive.catalog.intake import IntakeLedger, SqlIntake
from archive.catalog.organisations import OrganisationDirectory, SqlOrganisations
from archive.catalog.outbox import Outbox, SqlOutbox
from archive.catalog.review import ReviewStore, SqlReview
from archive.catalog.webhooks import SqlWebhooks, WebhookStore

__all__ = [
    "AccountStore",
    "CardStore",
    "Catalog",
    "ChangeFeed",
    "IntakeLedger",
    "OrganisationDirectory",
    "Outbox",
    "ReviewStore",
    "WebhookStore",
    "utc_now",
]


class Catalog(
    SqlIntake, SqlCards, SqlOutbox, SqlReview, SqlOrganisations, SqlChangeFeed, SqlAccounts, SqlWebhooks
):
    """The catalog on a SQLAlchemy engine (see ``archive.db.make_engine``): every protocol above.

    ``Catalog(engine, *, clock=utc_now, tz=timezone.utc)``: ``clock`` gives the current time
    (aware); ``tz`` is the office's time zone, which decides the year a registration number
    belongs to.
    """


if TYPE_CHECKING:
    from classify.classifier import TrainingSource

    def _catalog_is_every_store(
        catalog: Catalog,
    ) -> tuple[
        IntakeLedger, CardStore, Outbox, ReviewStore, OrganisationDirectory, ChangeFeed, AccountStore, WebhookStore
    ]:
        """Not run: mypy checks here that ``Catalog`` satisfies each protocol."""
        return catalog, catalog, catalog, catalog, catalog, catalog, catalog, catalog

    def _reviews_train_the_classifier(store: ReviewStore) -> TrainingSource:
        """Not run: mypy checks here that a ``ReviewStore`` is a classifier ``TrainingSource``."""
        return store
