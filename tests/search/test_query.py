"""The query language parser (backend-independent)."""

from __future__ import annotations

from datetime import date

import pytest

from search.query import AnyOf, DateRange, FieldFilter, Fuzzy, Phrase, Prefix, QueryError, Word, parse_query, tolerance


def test_words_phrases_or_exclusions_and_prefixes() -> None:
    q = parse_query('"акт приёма" счёт OR инвойс -черновик догов*')
    assert q.must == (
        AnyOf((Phrase((("акт",), ("прием",))),)),
        AnyOf((Word(("счет",), "счет"), Word(("инвойс",), "инвойс"))),
        AnyOf((Prefix("догов"),)),
    )
    assert q.must_not == (Word(("черновик",), "черновик"),)


def test_or_chains_and_a_stray_or_is_ignored() -> None:
    assert parse_query("x OR y OR z").must == (AnyOf((Word(("x",), "x"), Word(("y",), "y"), Word(("z",), "z"))),)
    assert parse_query("OR договор OR").must == (AnyOf((Word(("договор",), "договор"),)),)
    # lower-case «or» is a word (an English function word: optional)
    q = parse_query("договор or аренда")
    assert q.must[1:] == (AnyOf((Word(("аренда",), "аренда"),)),) and q.optional == (Word(("or",), "or"),)


def test_fields_filters_and_ranges() -> None:
    q = parse_query('kind:payment_invoice journal:ВХ correspondent:"ТОО «Альфа»" number:ВХ-2026* '
                    "registered:2026-01-01..2026-03-31 date:2024-02 year:2025")
    assert q.filters == (
        FieldFilter("kind", "payment_invoice"),
        FieldFilter("journal", "вх"),
        FieldFilter("correspondent", "тоо альфа"),
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
    assert parse_query('"договор аренды').must == (AnyOf((Phrase((("договор",), ("аренда",))),)),)
    q = parse_query("author:Иванов")
    assert q.must == (AnyOf((Word(("author",), "author"),)), AnyOf((Word(("иванов", "иван"), "иванов"),)))
    assert q.notes == ("unknown field 'author': searched as words",)
    assert parse_query("- kind: * ()").must == ()
    assert parse_query("").must == () and parse_query("   ").filters == ()


def test_bare_compound_words_are_phrases_and_highlight_terms_are_collected() -> None:
    q = parse_query("45/12-п Альфа-Строй correspondent:Бета -черновик")
    assert q.must[0] == AnyOf((Phrase((("45",), ("12",), ("п",))),))
    assert isinstance(q.must[1].clauses[0], Phrase) and q.must[1].clauses[0].terms[0][0] == "альфа"
    terms, prefixes = parse_query("договор* счёт correspondent:Бета -черновик").positive_terms()
    assert terms == {"счет", "бета"} and prefixes == ("договор",)


def test_a_word_asks_for_every_lemma_of_an_ambiguous_form() -> None:
    assert parse_query("устав").must == (AnyOf((Word(("устать", "устав"), "устав"),)),)
    assert parse_query("уставом").must == (AnyOf((Word(("устав",), "уставом"),)),)
    assert set(parse_query("стали").must[0].clauses[0].terms) == {"стать", "сталь", "стали"}  # type: ignore[union-attr]


def test_a_phrase_position_accepts_the_terms_of_every_form_of_the_word() -> None:
    # «Устав» stands in the index as «устать» (its most probable lemma): «"уставом общества"»
    # must accept it at the first position.
    (group,) = parse_query('"уставом общества"').must
    (phrase,) = group.clauses
    assert isinstance(phrase, Phrase)
    assert phrase.terms[0][0] == "устав" and "устать" in phrase.terms[0]
    assert ("устать", "общество") in phrase.variants()


def test_function_words_are_optional_unless_they_are_all_there_is() -> None:
    q = parse_query("заявлением об отпуске")
    assert [g.clauses[0].terms for g in q.must] == [("заявление",), ("отпуск",)]  # type: ignore[union-attr]
    assert q.optional == (Word(("о", "об"), "об"),)
    assert parse_query("об").must == (AnyOf((Word(("о", "об"), "об"),)),) and parse_query("об").optional == ()
    # in a phrase, an OR chain or excluded, a function word is an ordinary word
    assert parse_query('"заявление об отпуске"').optional == ()
    assert parse_query("о OR об договор").optional == ()
    assert [w.folded for w in parse_query("договор -для").must_not] == ["для"]  # type: ignore[union-attr]
    assert [w.folded for w in parse_query("заявленим~ об~ отпуске~").optional] == ["об"]  # type: ignore[union-attr]
    assert parse_query("об*").optional == ()  # a prefix is asked for
    optional = parse_query("договор и және of the").optional
    assert [w.folded for w in optional] == ["и", "және", "of", "the"]  # type: ignore[union-attr]


def test_tilde_adds_typo_tolerance_counted_on_the_folded_word() -> None:
    assert tolerance("акт") == 1 and tolerance("договор") == 1 and tolerance("ограниченной") == 2
    assert tolerance("на") == 0 and tolerance("2026") == 0 and tolerance("a1b2c3") == 0
    q = parse_query("Ограниченой~ счёт~2 акт~0 12~")
    assert q.must[0].clauses == (
        Word(("ограничен",), "ограниченой"),
        Fuzzy("ограниченой", 2),
        Word(("ограниченный", "ограничить", "ограничение"), "ограниченой"),  # the dictionary's, one edit away
    )
    assert q.must[1].clauses == (Word(("счет",), "счет"), Fuzzy("счет", 2))
    assert q.must[2].clauses == (Word(("акт",), "акт"),)  # ~0: exact
    assert q.must[3].clauses == (Word(("12",), "12"),)  # numbers: exact
    assert q.marks().fuzzy == (Fuzzy("ограниченой", 2), Fuzzy("счет", 2))


def test_the_tolerant_second_pass_adds_tolerance_to_every_required_word() -> None:
    q = parse_query('договор на "акт приёма" -черновик OR x')
    tolerant = q.tolerant()
    assert tolerant is not None
    assert tolerant.must[0].clauses == (Word(("договор",), "договор"), Fuzzy("договор", 1))
    assert tolerant.must[1:] == q.must[1:]  # phrases stay exact
    assert tolerant.optional == q.optional and tolerant.must_not == q.must_not
    assert parse_query("договор~").tolerant() is None  # nothing to add
    assert parse_query("12 kind:act").tolerant() is None
