"""Splitting recognised pages into documents: modes, separator sheets, keys and owners."""

from __future__ import annotations

import pytest

from ingest.documents import PageMark, duplicate_of, split_documents
from ingest.errors import ConfigurationError


def marks(spec: str, source: str = "a") -> list[PageMark]:
    """``"t b t s"``: text, blank, text, separator-coded page, all of one input."""
    out = []
    for number, c in enumerate(spec.split(), 1):
        out.append(PageMark(source, f"sha-{source}", number, blank=c == "b", codes=("SEP",) if c == "s" else ()))
    return out


def pages_of(split, stream):
    return [[(stream[i].source, stream[i].number) for i in d.pages] for d in split.documents]


def test_file_mode_makes_one_document_per_input_without_its_blank_pages() -> None:
    stream = marks("t b t", "a") + marks("t", "b")
    split = split_documents(stream, "file")
    assert pages_of(split, stream) == [[("a", 1), ("a", 3)], [("b", 1)]]
    assert split.owners == {"a": 0, "b": 1} and split.empty == ()


def test_a_whole_file_is_keyed_by_its_checksum_and_a_part_by_its_pages() -> None:
    stream = marks("t b t")
    assert [d.key for d in split_documents(stream, "file").documents] == ["sha-a"]
    parts = split_documents(marks("t b t"), "blank").documents
    assert len(parts) == 2 and "sha-a" not in {d.key for d in parts} and parts[0].key != parts[1].key


def test_blank_mode_cuts_at_blank_sheets_across_files_and_drops_empty_documents() -> None:
    stream = marks("b t b", "a") + marks("t t b b", "b") + marks("t b", "c")
    split = split_documents(stream, "blank")
    assert pages_of(split, stream) == [[("a", 2)], [("b", 1), ("b", 2)], [("c", 1)]]
    assert split.owners == {"a": 0, "b": 1, "c": 2}


def test_barcode_mode_cuts_at_any_code_or_only_at_the_configured_value() -> None:
    stream = [
        PageMark("a", "s", 1),
        PageMark("a", "s", 2, codes=("SEP",)),
        PageMark("a", "s", 3),
        PageMark("a", "s", 4, codes=("INVOICE 17",)),
        PageMark("a", "s", 5),
    ]
    assert pages_of(split_documents(stream, "barcode"), stream) == [[("a", 1)], [("a", 3)], [("a", 5)]]
    only_sep = split_documents(stream, "barcode", "SEP")
    assert pages_of(only_sep, stream) == [[("a", 1)], [("a", 3), ("a", 4), ("a", 5)]]


def test_an_input_of_separator_sheets_only_belongs_to_the_next_document() -> None:
    stream = marks("t", "a") + marks("s", "b") + marks("t", "c")
    split = split_documents(stream, "barcode")
    assert split.owners == {"a": 0, "b": 1, "c": 1} and split.empty == ()


def test_a_single_input_with_nothing_but_blank_pages_has_nothing_to_archive() -> None:
    split = split_documents(marks("b b"), "file")
    assert split.documents == () and split.owners == {} and split.empty == ("a",)


def test_re_splitting_the_same_pages_gives_the_same_keys() -> None:
    stream = marks("t s t t", "a") + marks("t", "b")
    first = [d.key for d in split_documents(stream, "barcode").documents]
    assert first == [d.key for d in split_documents(list(stream), "barcode").documents]
    assert len(set(first)) == len(first)


def test_an_unknown_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        split_documents(marks("t"), "ocr")  # type: ignore[arg-type]


def test_a_file_with_the_bytes_of_an_archived_original_duplicates_its_card() -> None:
    cards = {"abc": "card-1"}
    assert duplicate_of("abc", cards.get) == "card-1"
    assert duplicate_of("def", cards.get) is None
