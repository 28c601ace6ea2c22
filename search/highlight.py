"""Snippets with the matched words marked, cut from a hit's stored card and page text.

Done here rather than by each backend's highlighter, so both backends return the same snippets
and a snippet can say which page it comes from. Words are matched the way the index matched
them (``search.query.Marks``): a word is marked when one of its lemmas is a term the query asked
for, its folded form starts with a prefix the query asked for («договорами» is marked for
«договора» and «догов*»), it is within a typo's distance of a tolerant word (``word~``), or it
stands in a phrase the query asked for. ``marked_indices`` does the same for a list of words
(the card page marks the page image with it).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import OSA

from search.analysis import LOOSE_CYRILLIC, LOOSE_LATIN, Token, has_marks, lemmas, lexeme_forms, script_of, stem, tokens, word_at
from search.query import Fuzzy, Marks

__all__ = ["Highlight", "highlights", "marked_indices", "word_matches"]

OPEN, CLOSE = "<mark>", "</mark>"
_WINDOW = 160  # characters of context around the best run of matches
_CARD_FIELDS = ("registration_number", "title", "correspondent", "doc_number")
#: Extracted fields the card holds under a name of its own (``classify.classifier``): the same meaning.
_CARD_COPIES = {"correspondent": "correspondent", "number": "doc_number"}
_NEXT_WORD = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class Highlight:
    field: str  # "page" or a card field
    page: int | None
    snippet: str  # HTML-escaped text with <mark> around matches
    matches: int

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "page": self.page, "snippet": self.snippet}


def _within(word: str, fuzzy: tuple[Fuzzy, ...]) -> bool:
    """Within a tolerant word's distance, counted as both backends count it (restricted
    Damerau-Levenshtein: a swap of neighbours is one edit)."""
    for f in fuzzy:
        if abs(len(word) - len(f.word)) <= f.distance and OSA.distance(word, f.word, score_cutoff=f.distance) <= f.distance:
            return True
    return False


def word_matches(folded: str, marks: Marks) -> bool:
    """Whether the word (folded) is marked for itself: by a term, a prefix or a typo."""
    return (
        not marks.terms.isdisjoint(lemmas(folded))
        or folded.startswith(marks.prefixes)
        or _within(folded, marks.fuzzy)
    )


def marked_indices(folded: list[str], marks: Marks) -> set[int]:
    """Indices of the words (folded, in order) the query marks, phrase runs included."""
    found = {i for i, word in enumerate(folded) if word_matches(word, marks)}
    if marks.phrases:
        stems = [stem(word) for word in folded]
        for phrase in marks.phrases:
            size = len(phrase)
            for start in range(len(stems) - size + 1):
                if all(s in options for s, options in zip(stems[start : start + size], phrase, strict=True)):
                    found.update(range(start, start + size))
    return found


def _needles(term: str) -> set[str]:
    """Beginnings every word with ``term`` among its lemmas starts with: the term less its last
    letter (a stem is a prefix of its word but for a last letter English changes, «suppli» of
    «supply»), and the beginning of every form of its dictionary lexemes («люди» for
    «человек»)."""
    size = len(term) - 1 if len(term) > 3 else len(term)
    found = {term[:size]} | {form[: max(size, 2)] for form in lexeme_forms(term)}
    if term in ("die", "lie", "tie"):  # English irregulars that change the start: dying → die
        found.add(term[0] + "y")
    return found


def _shortest(needles: set[str]) -> set[str]:
    """The needles no other needle is a prefix of (the regex finds the same word starts)."""
    kept: list[str] = []
    for needle in sorted(needles, key=len):
        if not needle.startswith(tuple(kept)):
            kept.append(needle)
    return set(kept)


class _Matcher:
    """Finds the words a query matched without analysing every word of a page (that took
    8 ms of a 15 ms query at 100k cards): a regex over the text, lower-cased and look-alike
    folded character for character, finds where a word may begin with a term (``_needles``);
    only those words are folded and analysed to check. Tolerant words (rare: ``word~`` or a
    second pass) have no such beginnings: with them every word is checked."""

    def __init__(self, marks: Marks) -> None:
        self.marks = marks
        self.phrase_starts = frozenset(t for p in marks.phrases for t in p[0])
        needles = _shortest({n for t in marks.terms | self.phrase_starts for n in _needles(t)} | set(marks.prefixes))
        self.patterns: list[tuple[dict[int, str], re.Pattern[str]]] = []
        for table, script in ((LOOSE_CYRILLIC, "cyrillic"), (LOOSE_LATIN, "latin")):
            mine = sorted((n for n in needles if script_of(n) in (script, "")), key=len, reverse=True)
            if mine:
                alternation = "|".join(map(re.escape, mine))
                self.patterns.append((table, re.compile(rf"(?<![^\W_])(?:{alternation})")))

    def _candidates(self, text: str) -> list[Token]:
        if self.marks.fuzzy or has_marks(text):  # marks: a needle may run across one (rare)
            return list(tokens(text))
        found: dict[int, Token] = {}
        for table, pattern in self.patterns:
            for m in pattern.finditer(text.translate(table)):
                start = m.start()
                if start not in found and (token := word_at(text, start)) is not None:
                    found[start] = token
        return [found[k] for k in sorted(found)]

    def __call__(self, text: str) -> list[Token]:
        found: dict[int, Token] = {}
        for token in self._candidates(text):
            if word_matches(token.folded, self.marks):
                found[token.start] = token
            if self.phrase_starts and stem(token.folded) in self.phrase_starts:
                for run in self._phrase_runs(text, token):
                    found.update((t.start, t) for t in run)
        return [found[k] for k in sorted(found)]

    def _phrase_runs(self, text: str, first: Token) -> list[list[Token]]:
        """The phrases starting with ``first`` that go on word by word in ``text``."""
        runs = []
        term = stem(first.folded)
        for phrase in self.marks.phrases:
            if term not in phrase[0]:
                continue
            run, end = [first], first.end
            for want in phrase[1:]:
                nxt = _NEXT_WORD.search(text, end)
                token = word_at(text, nxt.start()) if nxt else None
                if token is None or stem(token.folded) not in want:
                    break
                run.append(token)
                end = token.end
            else:
                runs.append(run)
        return runs


def _snippet(text: str, marked: list[Token]) -> str:
    # The window with the most distinct matched words, starting at a match.
    best_start, best_score = 0, -1
    for i, first in enumerate(marked):
        inside = {t.folded for t in marked[i:] if t.end - first.start <= _WINDOW}
        if len(inside) > best_score:
            best_start, best_score = i, len(inside)
    anchor = marked[best_start].start
    begin = max(0, anchor - _WINDOW // 4)
    while begin > 0 and not text[begin - 1].isspace() and anchor - begin < _WINDOW // 2:
        begin -= 1
    end = min(len(text), begin + _WINDOW)
    while end < len(text) and not text[end].isspace() and end - begin < _WINDOW + 40:
        end += 1
    out: list[str] = ["…" if begin > 0 else ""]
    pos = begin
    for t in marked:
        if t.start < begin or t.end > end:
            continue
        out += [html.escape(text[pos : t.start]), OPEN, html.escape(text[t.start : t.end]), CLOSE]
        pos = t.end
    out.append(html.escape(text[pos:end]))
    out.append("…" if end < len(text) else "")
    return " ".join("".join(out).split())


def _same_value(value: str) -> str:
    return " ".join(value.split()).casefold()


def highlights(stored: Mapping[str, Any], marks: Marks, *, limit: int = 3) -> list[Highlight]:
    """Up to ``limit`` snippets: card fields first, then the pages with the most matches.

    A value is shown once: an extracted field that is a card field under another name (the
    classifier copies the correspondent and the number into the card, ``_CARD_COPIES``) is left
    out when the card's own field is shown, and so is any field whose value another shown field
    already has. When a page matches, the page with the most matched words keeps a place among
    the ``limit`` (the card fields take the rest): a hit always says which page it was found on.
    """
    if not marks or limit < 1:
        return []
    found: list[Highlight] = []
    shown: set[str] = set()
    matches = _Matcher(marks)
    extracted = stored.get("fields") or {}
    for name, value in [*((n, stored.get(n)) for n in _CARD_FIELDS), *extracted.items()]:
        if not isinstance(value, str) or not value or _same_value(value) in shown:
            continue
        if name in _CARD_COPIES and any(h.field == _CARD_COPIES[name] for h in found):
            continue
        marked = matches(value)
        if marked:
            found.append(Highlight(str(name), None, _snippet(value, marked), len(marked)))
            shown.add(_same_value(value))
    pages: list[Highlight] = []
    for number, text in enumerate(stored.get("pages") or [], 1):
        marked = matches(text)
        if marked:
            pages.append(Highlight("page", number, _snippet(text, marked), len({t.folded for t in marked})))
    pages.sort(key=lambda h: (-h.matches, h.page or 0))
    fields = found[: limit - 1] if pages else found[:limit]
    return fields + pages[: limit - len(fields)]
