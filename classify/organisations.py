"""The correspondent: organisation names in the text, matched against the directory.

Names are found after a legal form (ТОО, ООО, АО, ИП, ЖШС, АҚ, LLP, … or the words in full)
followed by a quoted name, in any of «», "", “”, „“ quotes (OCR turns «» into <> or "), and
compared by a key: folded (case, ё, Latin look-alikes), legal form and quotes dropped. The
directory match is fuzzy (rapidfuzz), so a letter or two misread still matches; a tax number in
the text that belongs to a directory entry matches it outright. A name that matches nothing is
proposed as a new directory entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from classify.normalize import fold

#: Legal forms: (pattern over the original text, the short form printed in the directory).
_FORMS: tuple[tuple[str, str], ...] = (
    (r"товариществ\w*\s+с\s+ограниченной\s+ответственностью", "ТОО"),
    (r"обществ\w*\s+с\s+ограниченной\s+ответственностью", "ООО"),
    (r"(?:публичн|открыт|закрыт|непубличн)\w*\s+акционерн\w*\s+обществ\w*", "АО"),
    (r"акционерн\w*\s+обществ\w*", "АО"),
    (r"индивидуальн\w*\s+предпринимател\w*", "ИП"),
    (r"жауапкершілігі\s+шектеулі\s+серіктестіг\w*", "ЖШС"),
    (r"акционерлік\s+қоғам\w*", "АҚ"),
    # short forms, with Latin look-alikes and zeros OCR puts in place of О
    (r"[ТT][ОO0]{2}|[ОO0]{3}|[ОO0][АA][ОO0]|[ЗЗ3][АA][ОO0]|П[АA][ОO0]|[АA][ОO0]|[ИI]П|ЖШС|АҚ|LLP|LLC|JSC|ГУ|КГУ|РГП|ГКП|ФГУП|МУП", ""),
)
_OPEN = "«\"“„'‹<"
_CLOSE = "»\"”“'›>"
_FORM = "|".join(f"(?:{p})" for p, _ in _FORMS)
_MENTION = re.compile(
    rf"(?<![^\W\d_])(?P<form>{_FORM})\s*[{_OPEN}]+\s*(?P<name>[^{_CLOSE}\n]{{2,80}}?)\s*[{_CLOSE}]",
    re.I,
)
_SOLE_TRADER = re.compile(r"(?<![^\W\d_])(?P<form>ИП)\s+(?P<name>[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.?)")
_FORM_WORDS = re.compile(rf"^(?:{_FORM})\s*", re.I)
_PUNCT = re.compile(r"[^\w\s]")
_TO_CYRILLIC = str.maketrans({"0": "О", "O": "О", "T": "Т", "A": "А", "I": "И", "3": "З"})

#: A directory match needs this rapidfuzz ratio (0-100) between keys.
MATCH_SCORE = 85.0
#: Confidence of a name that matched nothing (a proposal): below the review threshold.
PROPOSED_CONFIDENCE = 0.5


@dataclass(frozen=True)
class DirectoryEntry:
    """One organisation of the directory as classification sees it."""

    id: str
    name: str
    key: str
    tax_id: str | None = None


@dataclass(frozen=True)
class Mention:
    name: str
    key: str
    offset: int
    length: int


@dataclass(frozen=True)
class Correspondent:
    """The chosen correspondent: a directory entry (``entry``) or a proposal (``entry is None``)."""

    name: str
    key: str
    confidence: float
    offset: int
    length: int
    entry: DirectoryEntry | None = None
    tax_id: str | None = None


def org_key(name: str) -> str:
    """The comparison key of an organisation name: «ТОО "Северный Ветер"» -> "северный ветер"."""
    text = _FORM_WORDS.sub("", name.strip())
    text = _PUNCT.sub(" ", text)
    return fold(text)


def display_name(form: str, name: str) -> str:
    """«ТОО «Северный ветер»» from a legal form as printed and the quoted name."""
    short = _short_form(form)
    name = re.sub(r"\s+", " ", name).strip(" .,;")
    return f"{short} «{name}»" if short else name


def _short_form(form: str) -> str:
    for pattern, short in _FORMS:
        if short and re.fullmatch(pattern, form, re.I | re.S):
            return short
    return form.upper().translate(_TO_CYRILLIC) if not form.upper() in ("LLP", "LLC", "JSC") else form.upper()


def find_mentions(text: str) -> list[Mention]:
    """Organisation names in the text, in order."""
    out: list[Mention] = []
    for pattern in (_MENTION, _SOLE_TRADER):
        for m in pattern.finditer(text):
            key = org_key(m.group("name"))
            if len(key) >= 2 and any(ch.isalpha() for ch in key):
                out.append(Mention(display_name(m.group("form"), m.group("name")), key, m.start(), m.end() - m.start()))
    out.sort(key=lambda x: x.offset)
    return out


def match(key: str, directory: Sequence[DirectoryEntry]) -> tuple[DirectoryEntry, float] | None:
    """The directory entry whose key is closest to ``key``, if close enough, with its score 0-1."""
    if not directory:
        return None
    best = process.extractOne(key, [e.key for e in directory], scorer=fuzz.ratio, score_cutoff=MATCH_SCORE)
    if best is None:
        return None
    _, score, index = best
    return directory[index], float(score) / 100.0


def find_correspondent(
    text: str,
    directory: Sequence[DirectoryEntry],
    *,
    tax_ids: Iterable[str] = (),
    own_keys: Iterable[str] = (),
) -> Correspondent | None:
    """The organisation the document comes from (or goes to): a directory match, else a proposal.

    ``tax_ids`` are the valid BIN/IIN/INN found in the text; ``own_keys`` the keys of the
    office's own organisation(s), never the correspondent.
    """
    own = set(own_keys)
    mentions = [m for m in find_mentions(text) if not _is_own(m.key, own)]
    # A bank named in the payment details is rarely the correspondent: others first.
    mentions.sort(key=lambda m: "банк" in m.key or "bank" in m.key)
    by_tax = {e.tax_id: e for e in directory if e.tax_id and not _is_own(e.key, own)}
    for tax_id in tax_ids:
        entry = by_tax.get(tax_id)
        if entry is not None:
            where = next((m for m in mentions if match(m.key, [entry])), None)
            offset, length = (where.offset, where.length) if where else (text.find(tax_id), len(tax_id))
            return Correspondent(entry.name, entry.key, 0.98, offset, length, entry, tax_id)
    best: Correspondent | None = None
    for m in mentions:
        found = match(m.key, directory)
        if found and (best is None or found[1] > best.confidence):
            entry, score = found
            best = Correspondent(entry.name, entry.key, score, m.offset, m.length, entry, entry.tax_id)
    if best is not None:
        return best
    if mentions:
        first = mentions[0]
        return Correspondent(first.name, first.key, PROPOSED_CONFIDENCE, first.offset, first.length)
    return None


def _is_own(key: str, own: set[str]) -> bool:
    return any(fuzz.ratio(key, k) >= MATCH_SCORE for k in own)
