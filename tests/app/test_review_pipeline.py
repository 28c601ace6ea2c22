"""Ingestion with classification, against real Tesseract: certain documents are registered,
uncertain ones go to the review queue with their reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.profile import HotFolderProfile
from tests import pages as P
from app import pipeline
from app.services import Services
from app.settings import load_settings

pytestmark = pytest.mark.tesseract

INVOICE = (
    "СЧЕТ НА ОПЛАТУ № 123 от 12.03.2024\n"
    "Поставщик: ТОО «Северный ветер»\n"
    "Итого к оплате: 1 234 567,89 тенге\n"
    "Оплата данного счета означает согласие с условиями поставки."
)
MIXED = (
    "Материалы к совещанию\n"
    "Прилагаются счёт на оплату, договор аренды\n"
    "и коммерческое предложение для рассмотрения."
)


def test_a_clear_invoice_is_registered_and_a_mixed_document_needs_review(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = load_settings({"KARTOTEKA_DATA_DIR": str(tmp_path / "data"), "KARTOTEKA_OCR_ENGINE": "tesseract"})
    hot = HotFolderProfile(path=inbox, quarantine=inbox / "quarantine")
    services = Services(settings.model_copy(update={"hotfolders": (hot,)}))
    services.catalog.save_organisation("ТОО «Северный ветер»", "северный ветер")
    batch = services.catalog.open_batch(str(inbox.resolve()), "b")
    cards = {}
    for name, text in (("invoice.png", INVOICE), ("mixed.png", MIXED)):
        src = P.save_png(P.render_page(text, dpi=200, points=14), inbox / name, dpi=200)
        row = pipeline.process_input(pipeline.intake_file(src, batch, services, lambda _i: None).id, services)
        assert row.outcome == "archived" and row.card_id
        view = services.catalog.get_card(row.card_id)
        assert view is not None
        cards[name] = view.card

    invoice = cards["invoice.png"]
    assert (invoice.kind, invoice.status) == ("payment_invoice", "registered"), invoice.fields
    assert invoice.doc_number == "123" and str(invoice.doc_date) == "2024-03-12"
    assert invoice.correspondent == "ТОО «Северный ветер»"
    assert invoice.fields["amount"].value == "1234567.89" and invoice.fields["currency"].value == "KZT"
    assert invoice.fields["amount"].page == 1 and invoice.fields["amount"].offset is not None

    mixed = cards["mixed.png"]
    assert mixed.status == "needs review"
    assert {r.field for r in mixed.review_reasons} & {"kind"} and "review_reasons" not in mixed.fields
    assert [c.id for c in services.catalog.review_queue()] == [mixed.id]
