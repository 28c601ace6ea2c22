"""The query language parser (backend-independent)."""

from __future__ import annotations

from datetime import date

import pytest

from search.query import AnyOf, DateRange, FieldFilter, Phrase, Prefix, QueryError, Word, parse_query


def test_words_phrases_or_exclusions_and_prefixes() -> None:
    q = parse_query('"акт приёма" счёт OR инвойс -черновик догов*')
    assert q.must == (
        AnyOf((Phrase(("акт", "прием")),)),
        AnyOf((Word("счет"), Word("инвойс"))),
        AnyOf((Prefix("догов"),)),
    )
    assert q.must_not == (Word("черновик"),)


def test_or_chains_and_a_stray_or_is_ignored() -> None:
    assert parse_query("a OR b OR c").must == (AnyOf((Word("a"), Word("b"), Word("c"))),)
    assert parse_query("OR договор OR").must == (AnyOf((Word("договор"),)),)
    assert parse_query("договор or аренда").must[1:] == (AnyOf((Word("or"),)), AnyOf((Word("аренд"),)))


def test_fields_filters_and_ranges() -> None:
    q = parse_query('kind:payment_invoice journal:ВХ correspondent:"ТОО «Альфа»" number:ВХ-2026* '
                    "registered:2026-01-01..2026-03-31 date:2024-02 year:2025")
    assert q.filters == (
        FieldFilter("kind", "payment_invoice"),
        FieldFilter("journal", "вх"),
        FieldFilter("correspondent", "то альф"),
        FieldFilter("number", "вх2026", prefix=True),
    )
    assert q.ranges == (
        DateRange("registered", date(2026, 1, 1), date(2026, 3, 31)),
        DateRange("doc_date", date(2024, 2, 1), date(2024, 2, 29)),
        DateRange("registered", date(2025, 1, 1), date(2025, 12, 31)),
    )
    assert not q.has_text


def test_open_ended_ranges() -> None:
    assert parse_query("registered:2026-03..").ranges == (DateRange("registered", date(2026, 3, 1), None),)
    assert parse_query("date:..2024").ranges == (DateRange("doc_date", None, date(2024, 12, 31)),)


@pytest.mark.parametrize(
    "text", ["registered:2026-13-01", "registered:2026-02-30", "date:вчера", "registered:..", "date:2026-05..2026-01"]
)
def test_unreadable_ranges_raise_with_the_part_and_the_form(text: str) -> None:
    with pytest.raises(QueryError) as e:
        parse_query(text)
    assert text.split(":")[0] in str(e.value)


def test_malformed_input_falls_back_to_words() -> None:
    assert parse_query('"договор аренды').must == (AnyOf((Phrase(("договор", "аренд")),)),)
    q = parse_query("author:Иванов")
    assert q.must == (AnyOf((Word("author"),)), AnyOf((Word("иван"),)))
    assert q.notes == ("unknown field 'author': searched as words",)
    assert parse_query("- kind: * ()").must == ()
    assert parse_query("").must == () and parse_query("   ").filters == ()


def test_bare_compound_words_are_phrases_and_highlight_terms_are_collected() -> None:
    q = parse_query("45/12-п Альфа-Строй correspondent:Бета -черновик")
    assert q.must == (AnyOf((Phrase(("45", "12", "п")),)), AnyOf((Phrase(("альф", "стро")),)))
    terms, prefixes = parse_query("договор* счёт correspondent:Бета -черновик").positive_terms()
    assert terms == {"счет", "бет"} and prefixes == ("договор",)
