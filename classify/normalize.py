"""Text folding for matching recognised text: what OCR confuses is made equal.

``fold`` is for finding words (kind keywords, organisation names): case folded, ё→е, Latin
letters that look Cyrillic folded to Cyrillic inside Cyrillic words (and a lone look-alike digit
such as «3аявление»), words hyphenated across lines joined, whitespace collapsed.
``fold_digits`` is for numbers: letters OCR reads in place of digits (О→0, З→3, l/I→1) become digits.
"""

from __future__ import annotations

import re

#: Latin letters drawn exactly like Cyrillic ones, by case (Latin H is Cyrillic Н; Latin h is no
#: Russian letter). The search analysis folds with these alone (search/analysis.py).
LOOKALIKES = {
    "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М", "O": "О", "P": "Р",
    "T": "Т", "X": "Х", "Y": "У", "a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х",
    "y": "у", "i": "і", "I": "І",
}  # fmt: skip
#: For matching keywords and names, also the letters OCR confuses in italics and small print.
_LATIN_TO_CYRILLIC = str.maketrans(
    {**LOOKALIKES, "k": "к", "m": "м", "n": "п", "u": "и", "r": "г", "b": "ь"}
)
_LONE_DIGIT_TO_CYRILLIC = {"0": "о", "3": "з", "6": "б"}
#: Cyrillic look-alikes of Latin letters (for e-mail addresses and other Latin-only tokens).
CYRILLIC_TO_LATIN = str.maketrans({**{v: k for k, v in LOOKALIKES.items()}, "к": "k"})
#: Letters OCR reads in place of digits, inside numbers.
_DIGIT_LOOKALIKES = str.maketrans(
    {"О": "0", "O": "0", "о": "0", "o": "0", "D": "0", "З": "3", "з": "3", "l": "1", "I": "1", "|": "1",
     "І": "1", "і": "1", "Б": "6", "б": "6", "S": "5", "B": "8", "В": "8"}
)  # fmt: skip

_LOOKALIKE_CAPITALS = frozenset("ABCEHKMOPTXY")
_LATIN = re.compile(r"[a-z]", re.I)
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[а-яёәғқңөұүһі]", re.I)
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])[-\u00ad\u2010\u2011]\s*\n\s*(?=[^\W\d_])")
_SPACES = re.compile(r"\s+")


def _fold_word(match: re.Match[str], *, cyrillic_text: bool = False) -> str:
    word = match.group(0)
    cyrillic = len(_CYRILLIC.findall(word))
    if cyrillic == len(word):
        return word
    if not cyrillic:
        # In a Cyrillic text, a word of look-alike Latin capitals («AKT», «OT») is Cyrillic misread.
        if cyrillic_text and len(word) > 1 and word.isupper() and all(ch in _LOOKALIKE_CAPITALS for ch in word):
            return word.translate(_LATIN_TO_CYRILLIC)
        return word
    letters = sum(ch.isalpha() for ch in word)
    if letters < 2 or cyrillic * 2 < letters:
        return word  # a Latin word with a stray Cyrillic letter: leave it
    out = word.translate(_LATIN_TO_CYRILLIC)
    chars = list(out)
    for i, ch in enumerate(chars):
        if ch in _LONE_DIGIT_TO_CYRILLIC:
            before = chars[i - 1] if i else ""
            after = chars[i + 1] if i + 1 < len(chars) else ""
            if not before.isdigit() and not after.isdigit() and (before.isalpha() or after.isalpha()):
                chars[i] = _LONE_DIGIT_TO_CYRILLIC[ch]
    return "".join(chars)


def fold(text: str) -> str:
    """Text folded for word matching (see the module docstring); offsets are not kept."""
    text = text.replace("\u00ad", "")
    text = _HYPHEN_BREAK.sub("", text)
    cyrillic_text = len(_CYRILLIC.findall(text)) > 2 * len(_LATIN.findall(text))
    text = _WORD.sub(lambda m: _fold_word(m, cyrillic_text=cyrillic_text), text)
    text = text.casefold().replace("ё", "е")
    return _SPACES.sub(" ", text).strip()


def fold_digits(text: str) -> str:
    """Letters OCR confuses with digits turned into those digits; spaces and length kept."""
    return text.translate(_DIGIT_LOOKALIKES)


def only_digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
