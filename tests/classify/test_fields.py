from __future__ import annotations

from datetime import date

import pytest

from classify.fields import find_date, find_number
from classify.simple import classify_document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("от 12 марта 2024 г.", date(2024, 3, 12)),
        ("Дата: 12.03.2024", date(2024, 3, 12)),
        ("dated 2024-03-12 in Almaty", date(2024, 3, 12)),
        ("2024 жылғы 5 сәуір", date(2024, 4, 5)),
        ("Date: 14 February 2024", date(2024, 2, 14)),
        ("March 3, 2025", date(2025, 3, 3)),
        ("1 мая 2023 года", date(2023, 5, 1)),
        ("31.02.2024 then 01.03.2024", date(2024, 3, 1)),
        ("phone 8 701 123 45 67", None),
    ],
)
def test_dates_in_office_forms(text: str, expected: date | None) -> None:
    found = find_date(text)
    assert (found.value if found else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("СЛУЖЕБНАЯ ЗАПИСКА № 45/12-п\n", "45/12-п"),
        ("PURCHASE ORDER No. 2024-118", "2024-118"),
        ("ҚЫЗМЕТТІК ХАТ №17", "17"),
        ("no number here", None),
    ],
)
def test_document_numbers(text: str, expected: str | None) -> None:
    found = find_number(text)
    assert (found.value if found else None) == expected


def test_classification_takes_profile_kind_and_first_fields() -> None:
    c = classify_document(["СЛУЖЕБНАЯ ЗАПИСКА № 45/12-п\nот 12 марта 2024 г.", "№ 99 от 01.01.2020"], "memo")
    assert c.kind == "memo" and c.doc_number == "45/12-п" and c.doc_date == date(2024, 3, 12)
    assert c.title == "СЛУЖЕБНАЯ ЗАПИСКА № 45/12-п"
    assert c.fields["date"].page == 1
