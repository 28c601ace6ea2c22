"""``kartoteka verify`` on a live archive: the service registers cards while it runs."""

from __future__ import annotations

from pathlib import Path

from app.services import Services
from app.settings import load_settings
from app.verifying import _verify_index
from search.document import card_document
from search.feed import apply_outbox
from tests.archive.helpers import make_draft, record


def _register(services: Services, source: str) -> str:
    catalog = services.catalog
    batch = catalog.open_batch("/srv/inbox", "b1")
    return catalog.register_card(record(catalog, batch, source), make_draft(source)).id


def _index_outbox(services: Services) -> None:
    index = services.open_index()
    try:
        while apply_outbox(services.catalog, index, services.tz):
            pass
    finally:
        index.close()


def test_a_card_registered_during_verify_is_no_problem_and_a_real_stale_document_is(tmp_path: Path) -> None:
    """The catalog is read first (with every blob, minutes on a big archive), the index last: a
    card registered and indexed in between was reported as «a document of no card», exit 1."""
    services = Services(load_settings({"KARTOTEKA_DATA_DIR": str(tmp_path)}))
    first = _register(services, "a")
    _index_outbox(services)
    read_before = services.catalog.card_ids()  # what verify read from the catalog
    late = _register(services, "b")  # meanwhile the service registers a card and indexes it
    _index_outbox(services)
    problems: list[str] = []
    report = _verify_index(services, read_before, problems)
    assert problems == [] and report["documents"] == 2, problems

    other = Services(load_settings({"KARTOTEKA_DATA_DIR": str(tmp_path / "other")}))
    ghost = other.catalog.get_card(_register(other, "c"))
    assert ghost is not None and first != late
    index = services.open_index()
    try:
        index.upsert([card_document(ghost, services.tz)])  # a document of a card this archive lacks
        index.commit()
    finally:
        index.close()
    problems = []
    _verify_index(services, services.catalog.card_ids(), problems)
    assert len(problems) == 1 and "1 documents of no card" in problems[0]
