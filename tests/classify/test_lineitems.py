"""Line items of invoices: rows read from text, their sum checked against the printed total."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from classify.classifier import Classifier
from classify.config import ClassifyConfig
from classify.kinds import load_kinds
from classify.lineitems import add_line_items, find_line_items, item_fields, items_add_up, parse_row
from ocr.config import OcrConfig
from ocr.page import recognize_page
from tests.forms import make_form, render_form

INVOICE = """СЧЕТ НА ОПЛАТУ № 57 от 3 апреля 2024 г.
Поставщик: ООО «Северный ветер»
№\tНаименование товара\tКол-во\tЕд.\tЦена\tСумма
1\tБумага офисная А4\t20\tуп\t352,50\t7 050,00
2\tСтеплер настольный\t3\tшт\t1 250,90\t3 752,70
3 | Ручка шариковая синяя 40 | шт | 45,00 | 1 800,00
Итого: 12 602,70
В том числе НДС 20%: 2 100,45
Всего к оплате: 12 602,70 руб."""


def test_rows_are_read_with_digit_groups_joined_where_quantity_times_price_holds() -> None:
    items = find_line_items(INVOICE)
    assert [(i.name, i.quantity, i.unit, i.price, i.amount) for i in items] == [
        ("Бумага офисная А4", Decimal(20), "уп", Decimal("352.50"), Decimal("7050.00")),
        ("Степлер настольный", Decimal(3), "шт", Decimal("1250.90"), Decimal("3752.70")),
        ("Ручка шариковая синяя", Decimal(40), "шт", Decimal("45.00"), Decimal("1800.00")),
    ]
    assert all(i.confidence == 0.9 for i in items)
    assert INVOICE[items[1].offset : items[1].offset + items[1].length].startswith("2\tСтеплер")


def test_vat_rate_sum_and_amount_with_vat_follow_the_amount() -> None:
    item = parse_row("1 Рамка деревянная 10 шт 450,00 4 500,00 20% 900,00 5 400,00")
    assert item is not None
    assert (item.quantity, item.price, item.amount) == (Decimal(10), Decimal("450.00"), Decimal("4500.00"))
    assert (item.vat_rate, item.vat, item.total) == ("20%", Decimal("900.00"), Decimal("5400.00"))
    untaxed = parse_row("2 Услуги доставки 1 усл 3 000 3 000 без НДС")
    assert untaxed is not None and untaxed.vat_rate == "без НДС" and untaxed.unit == "усл"


def test_a_row_whose_figures_do_not_multiply_is_kept_with_low_confidence() -> None:
    item = parse_row("4\tКлей-карандаш\t7\tшт\t12,00\t99,00")
    assert item is not None and item.confidence < 0.5 and item.amount == Decimal("99.00")
    assert parse_row("Поставщик: ООО «Северный ветер»") is None


def test_the_sum_check_passes_on_the_printed_total_and_fails_on_a_tampered_one() -> None:
    items = find_line_items(INVOICE)
    assert items_add_up(items, INVOICE) is True
    assert items_add_up(items, INVOICE.replace("12 602,70", "12 702,70")) is False
    assert items_add_up(items, INVOICE.split("Итого")[0]) is None  # nothing to check against
    # VAT on top: the items add up to «Итого», «Всего к оплате» adds the VAT line
    on_top = INVOICE.replace("В том числе НДС 20%: 2 100,45", "НДС 20%: 2 520,54").replace("Всего к оплате: 12 602,70", "Всего к оплате: 15 123,24")
    assert items_add_up(items, on_top) is True


def test_items_become_card_fields_with_confidences() -> None:
    fields = item_fields(find_line_items(INVOICE), page=1)
    assert fields["items.count"].value == 3
    assert fields["items.sum"].value == "12602.70"
    assert fields["items.2.price"].value == "1250.90"
    assert fields["items.3.name"].value == "Ручка шариковая синяя"
    assert all(0 < f.confidence <= 1 and f.page == 1 for f in fields.values())


def test_the_classifier_puts_items_on_invoices_and_flags_a_total_they_miss(tmp_path) -> None:
    clf = Classifier(ClassifyConfig(), tmp_path / "models", kinds=load_kinds())
    good = clf.classify([INVOICE], "payment_invoice")
    assert good.fields["items.1.name"].value == "Бумага офисная А4"
    assert "line_items_total" not in [r.code for r in good.reasons]
    bad = clf.classify([INVOICE.replace("12 602,70", "12 902,70")], "payment_invoice")
    assert "line_items_total" in [r.code for r in bad.reasons] and bad.needs_review
    memo = clf.classify([INVOICE], "service_memo")
    assert "items.count" not in memo.fields  # only the kinds that carry items


def _small(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(gray[: gray.shape[0] // 2])


@pytest.mark.tesseract
def test_items_of_a_rendered_ruled_invoice_come_out_with_the_right_numbers(engine) -> None:
    form = make_form(11, n_items=5)
    page = recognize_page(1, _small(render_form(form)), 300, OcrConfig(languages="rus+eng"), engine)
    items = find_line_items(page.text)
    got = [(i.name, i.quantity, i.price, i.amount) for i in items]
    assert got == [(it.name, it.quantity, it.price, it.amount) for it in form.items]
    assert items_add_up(items, page.text) is True


@pytest.mark.tesseract
def test_a_tampered_total_on_a_rendered_invoice_is_a_review_reason(engine) -> None:
    form = make_form(11, n_items=5, tamper=Decimal("1000.00"))
    page = recognize_page(1, _small(render_form(form)), 300, OcrConfig(languages="rus+eng"), engine)
    fields: dict = {}
    reasons = add_line_items(fields, [page.text])
    assert fields["items.count"].value == 5
    assert [r.code for r in reasons] == ["line_items_total"]


def test_a_forms_column_numbering_row_is_no_item() -> None:
    assert parse_row("А\t1\t1а\t1б\t2\t2а\t3\t4\t5\t6\t7\t8\t9\t10") is None
    assert parse_row("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15") is None
    upd = parse_row("71686\t1\tПерчатки вязанные\t796\tпар\t200\t9.79\t1,958.33\t20%\t391.67\t2,350.00")
    assert upd is not None and (upd.quantity, upd.price, upd.amount) == (Decimal(200), Decimal("9.79"), Decimal("1958.33"))
    assert (upd.unit, upd.vat_rate, upd.vat, upd.total) == ("пар", "20%", Decimal("391.67"), Decimal("2350.00"))


def test_the_card_keeps_the_items_in_its_fields_json() -> None:
    from archive.drafting import card_fields  # the card's own rule for fields: plain JSON values

    card = card_fields(item_fields(find_line_items(INVOICE), page=1))
    assert card["items.1.amount"].to_json()["value"] == "7050"
    assert card["items.3.unit"].to_json() == {"value": "шт", "confidence": 0.9, "page": 1,
                                              "offset": card["items.3.unit"].offset, "length": card["items.3.unit"].length}  # fmt: skip
    assert card["items.count"].value == 3
