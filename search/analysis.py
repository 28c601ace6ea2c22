"""Text analysis shared by both search backends: the same terms, whatever stores them.

Both the embedded tantivy index and Elasticsearch receive text that this module has already
turned into terms, joined by spaces, and split it on whitespace only. That is how the two
backends give the same answers: neither Elasticsearch's ``russian`` analyzer nor tantivy's
stemmers are involved, and neither has a Kazakh analyzer or knows about OCR's look-alikes.

Per token, in order:

1. NFC, then Latin look-alike letters folded to Cyrillic in Cyrillic-majority tokens (OCR
   writes «Hовиков» with a Latin H) and Cyrillic look-alikes to Latin in Latin-majority ones.
   A token made only of look-alikes (the «H.K.» of «Новиков H.K.») follows the majority script
   of its line, so the initials of a Russian name index as Cyrillic.
2. Lower case, ё → е.
3. Terms: Latin tokens by the English Snowball stemmer; Cyrillic tokens with Kazakh letters
   (ә ғ қ ң ө ұ ү һ і) by a light Kazakh suffix stripper, and Kazakh plural-and-case chains
   without Kazakh letters (шарттарды) likewise; other Cyrillic tokens by their dictionary
   lemmas (pymorphy3's Russian dictionary: «уставом», «устава», «Устав» → «устав», which
   Snowball splits into «устав» and «уста»). A word the dictionary does not know (a name, an
   OCR-damaged word, a Kazakh word) falls back to the Russian Snowball stem less a trailing
   Kazakh plural ending (-лар/-тар/…, which Russian stems almost never end in).

Ambiguity: a word form may belong to several lexemes («устав» is the noun and a form of
«устать»; «стали» of «стать» and «сталь»). ``lemmas`` gives all of them, most probable first.
The first is the word's term at its position (phrases need exactly one term per position); the
others are the word's *alternates*, which ``search.document`` indexes into the same field as
extra values after the text (each value apart: both backends leave a position gap between values,
so no phrase runs into or across them). A word query then matches a card whose word has the
lemma among any of its lemmas, with no second field and its own statistics to keep equal on the
two backends; a query word expands to all its lemmas (``search.query``). A phrase position
instead accepts every term a form of the query word's lexemes stands as (``phrase_terms``).

``fold`` gives step 1–2 only: the unstemmed form, used for prefix queries, typo tolerance and
exact filters.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import pymorphy3  # type: ignore[import-untyped]
import snowballstemmer

from classify.normalize import LOOKALIKES
from search import kazakh

__all__ = [
    "LOOSE_CYRILLIC",
    "LOOSE_LATIN",
    "has_marks",
    "Analysed",
    "Token",
    "analyze",
    "analyze_both",
    "analyze_fields",
    "analyze_text",
    "fold",
    "keyword",
    "lemmas",
    "lexeme_forms",
    "phrase_terms",
    "script_of",
    "stem",
    "tokens",
    "word_at",
]

# The pairs OCR confuses, shared with classification: Latin → Cyrillic, case-sensitive.
_LATIN_TO_CYRILLIC = dict(LOOKALIKES)
_CYRILLIC_TO_LATIN = {v: k for k, v in _LATIN_TO_CYRILLIC.items()}
# Words: letters and digits (an underscore separates). A Han or kana character is a word by
# itself, as Unicode word breaking (so Elasticsearch's standard tokenizer) has it, so both
# backends split our terms alike.
_IDEOGRAPHS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[^\W_{_IDEOGRAPHS}]+|[{_IDEOGRAPHS}]")


def _mark_ranges() -> str:
    """The combining marks of the Basic Multilingual Plane (Unicode Mn, Mc, Me) as a character
    class body of ``\\uXXXX-\\uXXXX`` ranges."""
    codes = [c for c in range(0x300, 0x10000) if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me")]
    ranges: list[list[int]] = []
    for c in codes:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


# A combining mark belongs to the word it follows: text in NFD (a PDF's text layer, a name
# typed on a Mac: «й» as «и» + U+0306) and stress marks («за́мок») must not split words. Marks
# are not word characters to ``re``, so a line with any takes the slower pattern below; each
# word is then composed (NFC) and the diacritics that remain (U+0300-U+036F: a stress mark,
# which no letter precomposes with) dropped. Other scripts' marks (Devanagari's vowel signs)
# stay in the word: they are letters of it.
_MARKS = _mark_ranges()
_MARK = re.compile(f"[{_MARKS}]")
_DIACRITIC = re.compile("[\u0300-\u036f]")
_MARKED_WORD = re.compile(rf"(?:[^\W_{_IDEOGRAPHS}][{_MARKS}]*)+|[{_IDEOGRAPHS}][{_MARKS}]*")
#: Longer "words" are OCR garbage or encoded data, not something a clerk searches for.
MAX_WORD = 64

_RUSSIAN = snowballstemmer.stemmer("russian")
_ENGLISH = snowballstemmer.stemmer("english")



@dataclass(frozen=True, slots=True)
class Token:
    """A word of the original text: its span and its folded (unstemmed) form."""

    start: int
    end: int
    folded: str


_AMBIGUOUS = frozenset(_LATIN_TO_CYRILLIC) | frozenset(_CYRILLIC_TO_LATIN)
_UNAMBIGUOUS_CYRILLIC = re.compile(
    "[" + "".join(ch for ch in map(chr, range(0x400, 0x500)) if ch.isalpha() and ch not in _AMBIGUOUS) + "]"
)
_UNAMBIGUOUS_LATIN = re.compile(
    "[" + "".join(ch for ch in map(chr, range(0x41, 0x7B)) if ch.isalpha() and ch not in _AMBIGUOUS) + "]"
)
_TO_CYRILLIC = str.maketrans(_LATIN_TO_CYRILLIC)
_TO_LATIN = str.maketrans(_CYRILLIC_TO_LATIN)


def script_of(text: str) -> str:
    """'cyrillic', 'latin' or '' (neither): the majority of letters that are not look-alikes."""
    cyrillic = len(_UNAMBIGUOUS_CYRILLIC.findall(text))
    latin = len(_UNAMBIGUOUS_LATIN.findall(text))
    if cyrillic == latin:
        return ""
    return "cyrillic" if cyrillic > latin else "latin"


def _fold_word(word: str, context: str) -> str:
    # Regex searches and str.translate: this runs for every word indexed, so no Python loop
    # over characters (reindexing spent most of its time here before).
    cyrillic = _UNAMBIGUOUS_CYRILLIC.search(word) is not None
    latin = _UNAMBIGUOUS_LATIN.search(word) is not None
    if cyrillic != latin:
        script = "cyrillic" if cyrillic else "latin"
    else:
        script = (script_of(word) if cyrillic else "") or context
    if script == "cyrillic":
        word = word.translate(_TO_CYRILLIC)
    elif script == "latin":
        word = word.translate(_TO_LATIN)
    return word.lower().replace("ё", "е")


_ASCII_LETTER = re.compile("[A-Za-z]")


def _spans(text: str) -> Iterator[tuple[int, int, str]]:
    line_start = 0
    for line in text.splitlines(keepends=True):
        # Two checks per line spare most words the per-word work (a third of indexing's time):
        # in a line without Latin letters no word has a look-alike to map (every word folds to
        # its lower case), and in a line already in NFC every word is.
        plain = _ASCII_LETTER.search(line) is None
        ascii_ = line.isascii()
        composed = ascii_ or unicodedata.is_normalized("NFC", line)
        marked = not ascii_ and _MARK.search(line) is not None
        context = "" if plain else script_of(line)
        for m in (_MARKED_WORD if marked else _WORD).finditer(line):
            start, end = m.span()
            if end - start > MAX_WORD:
                continue
            word = m.group()
            if not composed:
                word = unicodedata.normalize("NFC", word)
            if marked:
                word = _DIACRITIC.sub("", word)
            folded = word.lower().replace("ё", "е") if plain else _fold_word(word, context)
            yield line_start + start, line_start + end, folded
        line_start += len(line)


def has_marks(text: str) -> bool:
    """Whether ``text`` has combining marks (then a word may not be where a plain pattern sees one)."""
    return not text.isascii() and _MARK.search(text) is not None


def word_at(text: str, start: int) -> Token | None:
    """The word that starts at ``start`` in ``text``, folded as ``tokens`` folds it (the script
    of its line decides look-alike-only words), or None if no word starts there."""
    m = _MARKED_WORD.match(text, start)
    before = text[start - 1] if start else ""
    if m is None or m.end() - start > MAX_WORD or (before and (_WORD.match(before) or _MARK.match(before))):
        return None
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    context = script_of(text[line_start : line_end if line_end >= 0 else len(text)])
    word = m.group()
    if not word.isascii():
        word = _DIACRITIC.sub("", unicodedata.normalize("NFC", word))
    return Token(start, m.end(), _fold_word(word, context))


def _loose_table(target: dict[str, str]) -> dict[int, str]:
    """One character for one (so offsets hold): lower case, ё as е, look-alikes to one script."""
    table: dict[int, str] = {}
    for code in [*range(0x41, 0x5B), *range(0x61, 0x7B), *range(0x400, 0x500)]:
        ch = chr(code)
        low = target.get(ch, ch).lower()
        low = target.get(low, low)
        if len(low) == 1 and low != ch:
            table[code] = low
    table[ord("ё")] = table[ord("Ё")] = "е"
    return table


#: For finding where a word might start with a term, before checking that word exactly.
LOOSE_CYRILLIC = _loose_table(_LATIN_TO_CYRILLIC)
LOOSE_LATIN = _loose_table(_CYRILLIC_TO_LATIN)


def tokens(text: str) -> Iterator[Token]:
    """The words of ``text`` with their spans in ``text``, folded (each word NFC-normalised);
    look-alike-only words follow the script of their line."""
    for start, end, folded in _spans(text):
        yield Token(start, end, folded)


def keyword(value: str) -> str:
    """The exact-match form of a kind, journal, status or number: folded like words, then
    everything but letters, digits and underscores dropped («ВХ-2026-000123» → «вх2026000123»)."""
    value = unicodedata.normalize("NFC", value)
    # Journals are Cyrillic: «BX» typed with Latin letters is «ВХ».
    folded = _fold_word(value, script_of(value) or "cyrillic")
    return "".join(ch for ch in folded if ch.isalnum() or ch == "_")


def fold(text: str) -> list[str]:
    """The folded, unstemmed words of ``text``."""
    return [folded for _, _, folded in _spans(text)]


@functools.cache
def _morph() -> pymorphy3.MorphAnalyzer:
    """The Russian dictionary, loaded once per process on first use (~40 ms, ~15 MB)."""
    return pymorphy3.MorphAnalyzer(lang="ru")


def _lemma(normal_form: str) -> str:
    return normal_form.lower().replace("ё", "е")


@functools.lru_cache(maxsize=200_000)
def lemmas(folded: str) -> tuple[str, ...]:
    """Every index term of one folded word: its term at its position first, then the other
    lemmas of an ambiguous Russian word form (most probable first). One term for all others."""
    if not folded.isalpha():
        # Numbers and codes («2024», «09г2с», «12шт»): matched as written. No dictionary or
        # stemmer knows them, and in the first pass over a year's cards they are most of the new
        # words: asking the dictionary about each cost 15 % of indexing (bench/index_ab.py).
        return (folded,)
    if kazakh.is_kazakh(folded):
        return kazakh.stems(folded)
    if script_of(folded) == "latin" or folded.isascii():
        return (str(_ENGLISH.stemWord(folded)),)
    if kazakh.plural_chain_start(folded) is not None:  # шарттарды, басшылары: Kazakh without Kazakh letters
        return kazakh.stems(folded)
    morph = _morph()
    known = morph.word_is_known(folded)
    if known:
        russian = tuple(_lemma(p.normal_form) for p in morph.parse(folded))
    elif kazakh.kazakh_chain(folded) is not None:  # заманда, тарихта, басшысы: Kazakh endings
        return kazakh.stems(folded)
    else:
        russian = (kazakh.strip_plural(str(_RUSSIAN.stemWord(folded))),)
    # A word Kazakh could spell too (бала, патша, баласы) also gets its Kazakh stems, after the
    # Russian lemmas: the query «бала» then finds «баланың» (bench/kazakh_recall.py: recall@10 of
    # Kazakh nouns 0.828 without these readings and the chain test above, 0.986 with them).
    return tuple(dict.fromkeys(russian + kazakh.kazakh_readings(folded, known)))


_RUSSIAN_LETTERS = "абвгдежзийклмнопрстуфхцчшщъыьэюя"
#: At most this many dictionary words are taken as corrections of one mistyped word.
MAX_CORRECTIONS = 8


@functools.lru_cache(maxsize=20_000)
def corrections(folded: str) -> tuple[str, ...]:
    """The lemmas of the dictionary words one edit (a letter dropped, added, changed, or two
    neighbours swapped) from a Russian word the dictionary does not know, or () for a known,
    short or non-Russian word.

    Why: a mistyped «довереность» falls back to Snowball («доверен»), while the documents'
    «доверенность» is indexed by its lemma, so the two no longer meet; and ``word~`` matches
    forms within the edits at one score, so its hits come in no useful order. The lemmas of
    «доверенность» are ordinary terms, scored by BM25 like any word, the same on both backends
    (this is analysis, not a backend feature). The dictionary is the vocabulary: a DAWG lookup
    per candidate (~70 per letter of the word), done only when a query found nothing as typed.
    """
    if len(folded) < 4 or script_of(folded) != "cyrillic" or kazakh.is_kazakh(folded):
        return ()
    morph = _morph()
    if morph.word_is_known(folded):
        return ()
    found: dict[str, None] = {}
    for candidate in _one_edit(folded):
        if len(found) >= MAX_CORRECTIONS:
            break
        if candidate not in found and morph.word_is_known(candidate):
            found[candidate] = None
    return tuple(dict.fromkeys(lemma for word in found for lemma in lemmas(word)))


def _one_edit(word: str) -> Iterator[str]:
    """Words one edit from ``word``, the likeliest typing slips first: a dropped letter added,
    neighbours swapped, a letter changed, a letter dropped."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for left, right in splits:
        for ch in _RUSSIAN_LETTERS:
            yield left + ch + right
    for left, right in splits:
        if len(right) > 1:
            yield left + right[1] + right[0] + right[2:]
    for left, right in splits:
        if right:
            for ch in _RUSSIAN_LETTERS:
                if ch != right[0]:
                    yield left + ch + right[1:]
    for left, right in splits:
        if right:
            yield left + right[1:]


def stem(folded: str) -> str:
    """The index term of one folded word at its position (the first of ``lemmas``)."""
    return lemmas(folded)[0]


@functools.lru_cache(maxsize=20_000)
def lexeme_forms(term: str) -> frozenset[str]:
    """The folded word forms whose lemmas include ``term`` as a dictionary lemma (empty for a
    term the dictionary has no lexeme of: a Snowball stem, a Kazakh or English term)."""
    if not term or script_of(term) != "cyrillic" or kazakh.is_kazakh(term):
        return frozenset()
    morph = _morph()
    forms: set[str] = set()
    for parse in morph.parse(term):
        if _lemma(parse.normal_form) == term:
            forms.update(_lemma(form.word) for form in parse.lexeme)
    return frozenset(forms)


@functools.lru_cache(maxsize=20_000)
def phrase_terms(folded: str) -> tuple[str, ...]:
    """The terms a phrase accepts at the position of the query word ``folded``: the word's own
    term first, then the position terms of every form of its lexemes («уставом» → «устав», and
    «устать», the term of the form «устав» whose other lemma is «устав»)."""
    own = lemmas(folded)
    found = dict.fromkeys([own[0]])
    for term in own:
        for form in sorted(lexeme_forms(term)):
            if term in lemmas(form):
                found[stem(form)] = None
    return tuple(found)


def analyze(text: str) -> list[str]:
    """The index terms of ``text``, in order (positions matter for phrases)."""
    return [stem(folded) for _, _, folded in _spans(text)]


def analyze_both(text: str) -> tuple[str, str]:
    """(index terms, folded words) of ``text``, each joined by spaces, in one pass."""
    words = fold(text)
    return " ".join(map(stem, words)), " ".join(words)


@dataclass(frozen=True, slots=True)
class Analysed:
    """What the index holds of one text: terms at their positions, the alternates of ambiguous
    words (each indexed as a value of its own), and the folded words."""

    terms: str
    alternates: tuple[str, ...]
    folded: str


def analyze_fields(text: str) -> Analysed:
    """``text`` analysed for a text field and its exact twin, in one pass."""
    words = fold(text)
    found = list(map(lemmas, words))
    alternates = tuple(term for each in found if len(each) > 1 for term in each[1:])
    return Analysed(" ".join([each[0] for each in found]), alternates, " ".join(words))


def analyze_text(text: str) -> str:
    """``analyze`` joined by spaces: what the backends' whitespace tokenizers receive."""
    return " ".join(analyze(text))
