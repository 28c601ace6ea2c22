"""Function words: prepositions, conjunctions and particles of Russian, Kazakh and English.

A query word in this list is optional (``search.query``): it never excludes a card, it only adds
to the score of cards that have it. Documents say «о предоставлении отпуска» where a clerk types
«заявлением об отпуске»; requiring «об» would find nothing. The words stay indexed: inside a
``"phrase"`` they must still stand where they stand. Compared with the folded (lower-case,
ё → е, look-alikes folded) unstemmed word.
"""

from __future__ import annotations

__all__ = ["STOPWORDS", "is_stopword"]

_RUSSIAN = """
а ах без безо бы в вдоль ведь во вне вместо вокруг вон вот всё все да даже для до же за
зато и из изо или иль ин к как ко когда кроме ли либо лишь меж между мимо на над надо не
нежели неужели ни но ну о об обо около от ото ох перед передо по под подо пока после при
про ради с сверх сквозь со среди то тоже только у уж через чем что чтоб чтобы
"""
_KAZAKH = """
ал әрі бен бірақ бойынша да де дейін және же мен немесе не пен сайын соң та те туралы
үшін шейін ғана қана ма ме ба бе па пе ғой қой ше шы ші ақ әлде яки
"""
_ENGLISH = """
a about above after against along among an and around as at before behind below beneath
beside between beyond but by despite down during except for from if in inside into like near
nor of off on onto or out outside over per since so than that the through throughout till to
toward towards under underneath unless until up upon via with within without yet
"""

STOPWORDS = frozenset((_RUSSIAN + _KAZAKH + _ENGLISH).replace("ё", "е").split())


def is_stopword(folded: str) -> bool:
    """True for a function word (``folded`` as ``search.analysis.fold`` gives words)."""
    return folded in STOPWORDS
