"""Kazakh stemming: the endings Kazakh words carry, stripped down to a stem both backends share.

Kazakh stacks plural, possessive and case endings on a stem, with vowel harmony and consonant
assimilation choosing each ending's form.
"""

from __future__ import annotations

import re

__all__ = ["is_kazakh", "plural_chain_start", "stem", "strip_plural"]

_KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
# Kazakh inflection, longest first within each group; stripped repeatedly from the end.
_KAZAKH_SUFFIXES = tuple(
    sorted(
        {
            # plural
            "лар", "лер", "дар", "дер", "тар", "тер",
            # genitive, accusative, dative, locative, ablative, instrumental
            "ның", "нің", "дың", "дің", "тың", "тің",
            "ны", "ні", "ды", "ді", "ты", "ті",
            "ға", "ге", "қа", "ке", "на", "не",
            "нда", "нде", "да", "де", "та", "те",
            "нан", "нен", "дан", "ден", "тан", "тен",
            "мен", "бен", "пен", "менен",
            # possessive
            "ым", "ім", "ың", "ің", "сы", "сі", "мыз", "міз", "ңыз", "ңіз", "ымыз", "іміз",
        },
        key=len,
        reverse=True,
    )
)
_KAZAKH_VOWEL_SUFFIXES = ("ы", "і", "а", "е")
_KAZAKH_PLURAL_CHAIN = re.compile(
    r"(?:лар|лер|дар|дер|тар|тер)(?:дың|дің|тың|тің|ның|нің|ды|ді|ты|ті|ны|ні|ға|ге|да|де|та|те"
    r"|дан|ден|тан|тен|мен|ы|і)$"
)
_PLURAL_AFTER_RUSSIAN = re.compile(r"(?:лар|лер|дар|дер|тар|тер)$")
_MIN_STEM = 3


def is_kazakh(word: str) -> bool:
    """True for a word with a letter only Kazakh uses (ә ғ қ ң ө ұ ү һ і)."""
    return any(ch in _KAZAKH_LETTERS for ch in word)


def plural_chain_start(word: str) -> int | None:
    """Where a plural-and-case chain (шарттарды, шарттармен) starts in a word without Kazakh
    letters, or None: such words are Kazakh, though the Russian stemmer would take them."""
    chain = _KAZAKH_PLURAL_CHAIN.search(word)
    return chain.start() if chain and chain.start() >= _MIN_STEM else None


def strip_plural(stemmed: str) -> str:
    """A Russian stem without a trailing Kazakh plural ending (Russian stems almost never end so)."""
    m = _PLURAL_AFTER_RUSSIAN.search(stemmed)
    return stemmed[: m.start()] if m and m.start() >= _MIN_STEM else stemmed


def stem(word: str) -> str:
    """The stem of a folded Kazakh word."""
    while True:
        for suffix in _KAZAKH_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
                word = word[: -len(suffix)]
                break
        else:
            # A bare possessive vowel (бөлімі → бөлім), only off longer words.
            if word.endswith(_KAZAKH_VOWEL_SUFFIXES) and len(word) - 1 > _MIN_STEM:
                word = word[:-1]
                continue
            return word
