"""Field extractors on the strings offices print and OCR mangles."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from classify.amounts import find_amount, parse_number
from classify.contacts import find_emails, find_phones
from classify.extract import extract_fields
from classify.fields import find_date, find_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("от 12 марта 2024 г.", date(2024, 3, 12)),
        ("Дата: 12.03.2024", date(2024, 3, 12)),
        ("dated 2024-03-12 in Almaty", date(2024, 3, 12)),
        ("2024 жылғы 5 сәуір", date(2024, 4, 5)),
        ("2024 жылғы 12 наурыз", date(2024, 3, 12)),
        ("Date: 14 February 2024", date(2024, 2, 14)),
        ("March 3, 2025", date(2025, 3, 3)),
        ("1 мая 2023 года", date(2023, 5, 1)),
        ("«20» августа 2018 г", date(2018, 8, 20)),
        ("от «2» фeвpaля 2020 г.", date(2020, 2, 2)),  # Latin look-alikes inside the month
        ("12.О3.2О24", date(2024, 3, 12)),  # Cyrillic О for zero
        ("З1.12.2023", date(2023, 12, 31)),  # З for three
        ("1l.03.2024", date(2024, 3, 11)),  # l for one
        ("31.02.2024 then 01.03.2024", date(2024, 3, 1)),
        ("phone 8 701 123 45 67", None),
        ("market 12, 2024", None),
    ],
)
def test_dates_in_office_forms(text: str, expected: date | None) -> None:
    found = find_date(text)
    assert (found.value if found else None) == expected


def test_a_date_read_through_ocr_confusion_is_less_certain() -> None:
    clean, mangled = find_date("12.03.2024"), find_date("12.О3.2024")
    assert clean and mangled and mangled.confidence < clean.confidence
    assert (clean.offset, clean.length) == (0, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("СЛУЖЕБНАЯ ЗАПИСКА № 45/12-п\n", "45/12-п"),
        ("PURCHASE ORDER No. 2024-118", "2024-118"),
        ("PURCHASE ORDER №. 2024-118", "2024-118"),
        ("ҚЫЗМЕТТІК ХАТ №17", "17"),
        ("Унифицированная форма № ТОРГ-12\nТОВАРНАЯ НАКЛАДНАЯ № 836 от", "836"),
        ("no number here", None),
    ],
)
def test_document_numbers(text: str, expected: str | None) -> None:
    found = find_number(text)
    assert (found.value if found else None) == expected


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("Итого: 1 234 567,89 тенге", "1234567.89", "KZT"),
        ("Итого: 1\u00a0234\u00a0567,89 ₸", "1234567.89", "KZT"),
        ("на сумму 125 400 рублей.", "125400", "RUB"),
        ("Total: USD 1,200.50", "1200.50", "USD"),
        ("Сумма 1.234.567,00 руб.", "1234567.00", "RUB"),
        ("price € 12 500", "12500", "EUR"),
        ("Всего к оплате 29 940,00 KZT", "29940.00", "KZT"),
    ],
)
def test_amounts_with_currency(text: str, value: str, currency: str) -> None:
    found = find_amount(text)
    assert found is not None and found.value == (Decimal(value), currency)


def test_the_total_wins_over_a_larger_line_item_and_bare_numbers_are_not_amounts() -> None:
    text = "Стол 15 000 тенге\nДоговор № 2024 от 12.03.2024, 45 штук\nИтого к оплате: 9 000 тенге"
    found = find_amount(text)
    assert found is not None and found.value == (Decimal(9000), "KZT") and found.confidence >= 0.9
    assert find_amount("Договор № 2024 от 12.03.2024, 45 штук") is None
    assert parse_number("1 234 567,89") == Decimal("1234567.89") and parse_number("12,5,6") is None


def test_emails_and_phones() -> None:
    text = "E-mail: Info@Firma.kz, тел. +7 (7172) 12-34-56, моб. 8 701 123 45 67, факс 8 (727) 250-50-50"
    assert [f.value for f in find_emails(text)] == ["info@firma.kz"]
    assert [f.value for f in find_phones(text)] == ["+77172123456", "+77011234567", "+77272505050"]
    assert [f.value for f in find_emails("почта: оffice@bank.kz")] == ["office@bank.kz"]  # Cyrillic о
    assert find_phones("счёт 40702810123450101230") == []


def test_every_field_keeps_page_and_position() -> None:
    pages = ["ДОГОВОР № 7\nот 01.02.2024", "Итого: 5 000 тенге\nБИН 940740000911"]
    fields = extract_fields(pages)
    assert fields["number"].value == "7" and fields["number"].page == 1
    amount = fields["amount"]
    assert (amount.value, fields["currency"].value, amount.page) == ("5000", "KZT", 2)
    assert pages[1][amount.offset : amount.offset + amount.length] == "5 000 тенге"
    assert fields["bin"].value == "940740000911" and pages[1][fields["bin"].offset :].startswith("940740000911")
