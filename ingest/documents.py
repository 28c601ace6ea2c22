"""Which pages form which document: the one splitting rule, and the keys that make it idempotent.

Recognition marks each page (blank? which codes does it carry?); this module decides, from those
marks alone, how the pages of one input or of a whole batch folder are cut into documents:

- ``file``: one document per input file; blank pages are left out;
- ``blank``: the stream of pages is cut at blank separator sheets, across file boundaries;
- ``barcode``: cut at pages carrying a code (only ``separator_value`` when one is set).

Separator sheets are dropped and empty documents vanish. Each document gets a key: the input's
SHA-256 when the document is every kept page of exactly one input (so the same file dropped
twice is recognised as the same document), otherwise a hash of its (input, page) list. The
archive registers one card per key, so re-running a split never registers anything twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.errors import ConfigurationError
from ingest.profile import SeparationMode

__all__ = ["DocumentPlan", "PageMark", "Split", "duplicate_of", "split_documents"]


@dataclass(frozen=True, slots=True)
class PageMark:
    """What splitting needs to know of one recognised page."""

    #: the input (ledger row id) the page came from, and that input's checksum
    source: str
    sha256: str
    #: the page's number within its input, from 1
    number: int
    blank: bool = False
    #: QR codes and barcodes read on the page
    codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DocumentPlan:
    """One document: its idempotency key and the indexes of its pages in the mark stream."""

    key: str
    pages: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Split:
    documents: tuple[DocumentPlan, ...]
    #: every input that has a document to point at: input id -> index of its document (the one
    #: holding its first kept page; an input of separator sheets only, the next document)
    owners: dict[str, int]
    #: inputs with nothing to archive (every page blank or a separator sheet)
    empty: tuple[str, ...]


def is_separator(mark: PageMark, mode: SeparationMode, separator_value: str | None = None) -> bool:
    """Whether the page is a separator sheet in ``mode``."""
    if mode == "blank":
        return mark.blank
    if mode == "barcode":
        return bool(mark.codes) if separator_value is None else separator_value.strip() in mark.codes
    return False


def split_documents(marks: Sequence[PageMark], mode: SeparationMode, separator_value: str | None = None) -> Split:
    """Cut a stream of pages (of one or several inputs, in order) into documents."""
    if mode not in ("file", "blank", "barcode"):
        raise ConfigurationError(f"unknown separation mode {mode!r}: use file, blank or barcode", stage="ingest")
    groups: list[list[int]] = [[]]
    for index, mark in enumerate(marks):
        if mode == "file" and index and mark.source != marks[index - 1].source:
            groups.append([])
        if is_separator(mark, mode, separator_value):
            groups.append([])
        elif not mark.blank:
            groups[-1].append(index)
    documents = tuple(DocumentPlan(_key(g, marks), tuple(g)) for g in groups if g)
    owners: dict[str, int] = {}
    empty: list[str] = []
    for source in dict.fromkeys(m.source for m in marks):
        owner = _owner(source, marks, documents)
        if owner is None:
            empty.append(source)
        else:
            owners[source] = owner
    return Split(documents, owners, tuple(empty))


def _owner(source: str, marks: Sequence[PageMark], documents: Sequence[DocumentPlan]) -> int | None:
    """The document holding the input's first kept page; for an input of separator sheets only,
    the next document (or the last, at the end of the stream); None when there is no kept page
    of this input and it is a single-input stream."""
    for index, doc in enumerate(documents):
        if any(marks[i].source == source for i in doc.pages):
            return index
    if len({m.source for m in marks}) == 1:
        return None
    position = next(i for i, m in enumerate(marks) if m.source == source)
    for index, doc in enumerate(documents):
        if doc.pages[0] > position:
            return index
    return len(documents) - 1 if documents else None


def _key(group: Sequence[int], marks: Sequence[PageMark]) -> str:
    sources = {marks[i].source for i in group}
    if len(sources) == 1:
        source = marks[group[0]].source
        kept = [i for i, m in enumerate(marks) if m.source == source and not m.blank]
        if list(group) == kept:
            return marks[group[0]].sha256
    joined = "|".join(f"{marks[i].sha256}:{marks[i].number}" for i in group)
    return hashlib.sha256(joined.encode()).hexdigest()


def duplicate_of(sha256: str, card_of_original: Callable[[str], str | None]) -> str | None:
    """The card an input duplicates, decided before recognition: a file with the same bytes
    (SHA-256) as an archived original is a duplicate of that original's card.

    Only whole files are checked here; a document cut out of a batch is deduplicated by its key
    when it is registered (the archive registers one card per key).
    """
    return card_of_original(sha256)
