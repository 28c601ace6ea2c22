"""Kazakh stemming: the endings Kazakh words carry, stripped down to a stem both backends share.

Kazakh stacks endings on a stem in a fixed order (morphotactics)::

    stem + plural + possessive + case + attributive -ғы
    басшы + лар  + ы          + ның               (басшыларының, "of their leaders")

and every ending has several forms: vowel harmony picks the back (а ы) or front (е і) vowel
after the stem's last vowel (back а о ұ ы, front ә е ө ү і), and the stem's last sound picks the
consonant (-лар after a vowel, -дар after л м н ң ж з, -тар after a voiceless consonant; -ның /
-дың / -тың; -да / -та, and -нда after a possessive). ``stem`` strips endings from the right slot
by slot (attributive, case, possessive, plural), taking an ending only where its form agrees with
what precedes it, so a word that merely ends like an ending (работа, компьютер) rarely loses it.
A pass that strips is repeated (басшы|сы → басшы → басш): whatever a bare word loses, its
inflected forms lose too, so a family keeps one stem; the final -ы/-і of a bare stem counts as a
possessive, as Snowball's Turkish stemmer does, because «басшы» and «тарихы» look alike.

Not stripped on purpose: derivational endings that make another word (бас → басшы → басшылық,
тіл → тілек), 1st/2nd person singular possessives (-ым, -ың: «білім», «ұйым» end so), and verb
endings down to a root (беру, берген and береді keep apart): each would merge unrelated words.
Sound changes are undone where an ending was taken: к/қ/п voiced before a vowel (кітабы →
кітап, тілегі → тілек) and a dropped vowel (аузы → ауыз, халқы → халық).

Some forms read two ways (бала|ны or балан|ы, бала|сы or балас|ы): ``stems`` gives both, the
likelier first, for the analysis to index and query as it does the lemmas of an ambiguous Russian
word. Words that end like an ending but are whole words (аудан, тұлға, Қазақстан) are kept.

Words without a Kazakh letter (заман, тарихта, басшысы) look Russian to the analysis:
``kazakh_chain`` says when one is nonetheless Kazakh (by its endings or a spelling Russian never
has), and ``kazakh_readings`` gives the Kazakh stems of a word that could be either (бала, патша).
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["is_kazakh", "kazakh_chain", "kazakh_readings", "plural_chain_start", "stem", "stems", "strip_plural"]

_KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
_KAZAKH_PLURAL_CHAIN = re.compile(
    r"(?:лар|лер|дар|дер|тар|тер)(?:дың|дің|тың|тің|ның|нің|ды|ді|ты|ті|ны|ні|ға|ге|да|де|та|те"
    r"|дан|ден|тан|тен|мен|ы|і)$"
)
_PLURAL_AFTER_RUSSIAN = re.compile(r"(?:лар|лер|дар|дер|тар|тер)$")
_MIN_STEM = 3

# What the last letter before an ending is, for consonant assimilation:
# v vowel, r р й у и (-лар, -дың), l л (-дар, -дың), n м н ң (-ның, -нан), z ж з,
# k voiceless, b б в г ғ д (voiced in loans, read either way).
_CLASS = {
    **dict.fromkeys("аәеөоұүыіэюяё", "v"),
    **dict.fromkeys("рйуи", "r"),
    "л": "l",
    **dict.fromkeys("мнң", "n"),
    **dict.fromkeys("жз", "z"),
    **dict.fromkeys("кқпстфхцчшщ", "k"),
    **dict.fromkeys("бвгғд", "b"),
}
_BACK = frozenset("аоұыя")
_FRONT = frozenset("әеөүіэ")
_VOWELS = frozenset("аәеөоұүыіиуэюяё")
_CONSONANT = "rlnzkb"
_VOICED = "vrlnzb"


class _Ending(NamedTuple):
    text: str
    after: str  # classes of the letter before it; "p" = only after a 3rd person possessive


def _endings(*pairs: tuple[str, str]) -> dict[str, tuple[_Ending, ...]]:
    """Both harmony variants of each ending (written back: а, ы), by last letter, longest first
    (a word is matched only against the endings that end in its last letter)."""
    out = {_Ending(t, a) for t, a in pairs} | {
        _Ending(t.replace("а", "е").replace("ы", "і").replace("ғ", "г").replace("қ", "к"), a) for t, a in pairs
    }
    by_last: dict[str, list[_Ending]] = {}
    for e in sorted(out, key=lambda e: -len(e.text)):
        by_last.setdefault(e.text[-1], []).append(e)
    return {last: tuple(group) for last, group in by_last.items()}


_PLURAL = _endings(("лар", "vr"), ("дар", "lnzb"), ("тар", "kb"))
_CASE = _endings(
    ("ның", "vn"), ("дың", "rlzb"), ("тың", "kb"),  # genitive
    ("ны", "v"), ("ды", "rlnzb"), ("ты", "kb"), ("н", "p"),  # accusative
    ("ға", _VOICED), ("қа", "kb"), ("на", "p"),  # dative
    ("да", _VOICED), ("та", "kb"), ("нда", "p"),  # locative
    ("дан", "vrlzb"), ("нан", "np"), ("тан", "kb"),  # ablative
    ("мен", "vrlnp"), ("бен", "znb"), ("пен", "kb"),  # instrumental
    ("менен", "vrlnp"), ("бенен", "znb"), ("пенен", "kb"),
    ("дай", _VOICED), ("тай", "kb"), ("ндай", "p"),  # similative (таспиқ|тай, бала|дай)
)
# Possessives: 3rd person (-ы after a consonant, -сы after a vowel), 1st plural, 2nd polite.
_POSSESSIVE = _endings(
    ("ымыз", _CONSONANT), ("мыз", "v"), ("ыңыз", _CONSONANT), ("ңыз", "v"), ("сы", "v"), ("ы", _CONSONANT)
)
_NO_HARMONY = frozenset({"мен", "бен", "пен", "менен", "бенен", "пенен"})
_ATTRIBUTIVE = _endings(("ғы", "rlnzb"), ("қы", "kb"))
_LOCATIVE = frozenset(("да", "де", "та", "те", "нда", "нде"))

# Stems that end like an ending but are whole words (аудан is not ау + -дан).
_KEEP = frozenset(
    "аудан майдан теңге орын ағын ойын жиын келін бүгін тұрғын мойын қойын ерін мұрын қарын түйін"
    " бұрын жақын қиын ұзын сайын құдай тақта тамыз шілде тенге үшін кейін басқа тұлға нұсқа кесте пошта"
    " үлгі белгі сүлгі кәсіпорын".split()
)
# Stems that drop their last vowel before a vowel-initial ending (ауыз → аузы).
_ELIDED = {
    "ауз": "ауыз", "орн": "орын", "мұрн": "мұрын", "ерн": "ерін", "халқ": "халық", "қарн": "қарын",
    "мойн": "мойын", "қойн": "қойын", "ерк": "ерік", "көрк": "көрік", "нарқ": "нарық", "ырқ": "ырық",
    "пейл": "пейіл", "кейп": "кейіп", "мүлк": "мүлік", "ұлғ": "ұлық", "кәсіпорн": "кәсіпорын",
}
# Nouns ending in -с that take -ы/-і, not -сы/-сі (жұмыс|ы, not жұмы|сы).
_S_STEMS = frozenset(
    "жұмыс кеңес облыс құрылыс өндіріс кіріс шығыс табыс тұрмыс қатынас өзгеріс күрес жарыс дыбыс"
    " қоныс тыныс таныс намыс ырыс жеміс күміс болмыс бағыс өріс тегіс ұрыс келіс іс бас тас"
    " дос жас ас қыс ес өс мас сес".split()
)
# Participles are words of their own here (берілген, болатын): never a possessive's -н or -ы.
_PARTICIPLE = re.compile(r"..(?:ған|ген|қан|кен|атын|етін|йтын|йтін)$")
# A loan word's endings may take either harmony where к or г follows a back vowel (Йорк|тің, банк|тің).
_LOAN = re.compile(r"[аоұы][^аәеөоұүыіиуэюяё]*[кг][^аәеөоұүыіиуэюяё]*$")
_STAN = re.compile(r"..стан$|.орда$")  # Қазақстан, Түркістан, Қызылорда: no ablative, no locative
# Spellings Russian never has (ы after a vowel or after ж ш щ ч к г х), near the end of a word
# that does not end as a Russian surname or adjective does (Кыдырбаевым is Russian).
_NOT_RUSSIAN = re.compile(r"[аеиоуыэюяёжшщчкгх]ы(?=.{0,4}$)")
_RUSSIAN_TAIL = re.compile(r"(?:ов|ев|ин|ын)(?:а|у|ым|ой|е|ых|ыми)?$|(?:ый|ий|ой|ая|ое|ые|ого|ому|ую|ых|ыми)$")
# Letters of Russian words only (and loans): Kazakh words have none of them.
_NOT_KAZAKH = re.compile(r"[вфцчщъьэё]|[^а-яёәғқңөұүһі]")
# Endings where the letters allow another reading (бала|ны or балан|ы, бала|сы or балас|ы).
_TWO_READINGS = frozenset({"ы", "і", "сы", "сі", "ны", "ні", "н"})
# Single endings a Russian word may carry as well (законы, Птицын, кассы): no evidence alone.
_AMBIGUOUS = frozenset({"ы", "сы", "н", "ны"})


def is_kazakh(word: str) -> bool:
    """True for a word with a letter only Kazakh uses (ә ғ қ ң ө ұ ү һ і)."""
    return any(ch in _KAZAKH_LETTERS for ch in word)


def plural_chain_start(word: str) -> int | None:
    """Where the endings of a word without Kazakh letters that ends in a plural-and-case chain
    (шарттарды, шарттармен, басшылары) start, or None: such words are Kazakh, though the Russian
    stemmer would take them. The endings before the plural count too (басшы|лар|ы → басш, as
    ``stem`` has it)."""
    chain = _KAZAKH_PLURAL_CHAIN.search(word)
    if not chain or chain.start() < _MIN_STEM:
        return None
    stemmed = stem(word)
    return len(stemmed) if word.startswith(stemmed) and len(stemmed) <= chain.start() else chain.start()


def strip_plural(stemmed: str) -> str:
    """A Russian stem without a trailing Kazakh plural ending (Russian stems almost never end so)."""
    m = _PLURAL_AFTER_RUSSIAN.search(stemmed)
    return stemmed[: m.start()] if m and m.start() >= _MIN_STEM else stemmed


def _harmony(word: str) -> str:
    """'b' (back), 'f' (front) or '' (none: и, у and ю alone say nothing) of the last vowel."""
    for ch in reversed(word):
        if ch in _BACK:
            return "b"
        if ch in _FRONT:
            return "f"
    return ""


def _fits(rest: str, ending: str, after: str) -> bool:
    """Whether ``ending`` may follow ``rest``: a stem left with a vowel, the right consonant
    class before it, and the ending's vowel in harmony with the stem's last vowel."""
    if len(rest) < 2 or not any(ch in _VOWELS for ch in rest):
        return False
    cls = _CLASS.get(rest[-1])
    after_possessive = "p" in after and rest[-1] in "ыі" and len(rest) >= 3  # басы|нда, баласы|на
    if cls is None or not (cls in after or after_possessive):
        return False
    if ending in _NO_HARMONY:
        return True
    harmony = "" if _LOAN.search(rest) else _harmony(rest)
    own = "b" if any(ch in "аықғ" for ch in ending) else "f" if any(ch in "еікг" for ch in ending) else ""
    return not harmony or not own or harmony == own


def _strip(word: str, endings: dict[str, tuple[_Ending, ...]]) -> tuple[str, str]:
    """(rest, ending) for the longest ending of ``endings`` that fits the end of ``word``."""
    for e in endings.get(word[-1:], ()):
        if word.endswith(e.text) and _fits(word[: -len(e.text)], e.text, e.after):
            return word[: -len(e.text)], e.text
    return word, ""


def _possessive(word: str, alt: bool = False) -> tuple[str, str]:
    """The 3rd person possessive: -сы after a vowel or -ы after a consonant; in «баласы» and
    «жұмысы» the letters alike, so known -с nouns and the -ыс/-іс nouns made from verbs take
    -ы, agent nouns in -шы and other vowel stems -сы (``alt``: the other reading)."""
    rest, ending = _strip(word, _POSSESSIVE)
    if ending in ("мыз", "міз", "ңыз", "ңіз") and len(rest) < 3:  # тамыз is not та|мыз
        return word, ""
    if ending in ("сы", "сі"):
        whole = word[:-1]
        made_from_verb = rest[-1] in "ыі" and len(rest) >= 2 and rest[-2] not in "шчлқкғгу"  # жұмыс, not үлгі
        if whole in _S_STEMS or len(rest) < 3 or made_from_verb != alt:  # known: no other reading
            return whole, ending[-1]
    return rest, ending


def _undo_sound_changes(rest: str, ending: str) -> str:
    """кітаб|ы → кітап, тілег|і → тілек, ауз|ы → ауыз: after an ending that begins with a vowel."""
    if not ending or ending[0] not in "ыі" or rest in _S_STEMS:
        return rest
    rest = _ELIDED.get(rest, rest)
    last = rest[-1]
    if last == "б":
        return rest[:-1] + "п"
    if last == "ғ":
        return rest[:-1] + "қ"
    if last == "г" and _harmony(rest) != "b":  # г in a back-vowel word is a loan's (педагог)
        return rest[:-1] + "к"
    return rest


def _keep(word: str) -> bool:
    return word in _KEEP or _STAN.search(word) is not None


def _attributive(word: str) -> tuple[str, list[str]]:
    """-ғы/-гі/-қы/-кі: after a locative (заң|да|ғы) or a consonant (жыл|ғы, іш|кі)."""
    for e in _ATTRIBUTIVE.get(word[-1:], ()):
        if not word.endswith(e.text):
            continue
        rest = word[: -len(e.text)]
        before, case = _strip(rest, _CASE)
        if case in _LOCATIVE:
            return before, [e.text, case]
        if _fits(rest, e.text, e.after):
            return rest, [e.text]
    return word, []


def _pass(word: str, alt: bool) -> tuple[str, list[str]]:
    """One right-to-left pass over the slots: attributive, case, possessive, plural."""
    if _keep(word):
        return word, []
    rest, taken = _attributive(word)
    if not taken:
        rest, ending = _strip(rest, _CASE)
        if ending == "н" and (len(rest) < 3 or rest[-1] not in "ыі" or _PARTICIPLE.search(word)):
            rest, ending = word, ""
        elif ending == "н" and alt and _CLASS.get(rest[-2]) != "v" and rest[-2] != "с":  # жалын, not жал|ы|н
            rest, ending = word, ""
        elif ending in ("ны", "ні") and rest not in _KEEP and (
            len(rest) < 3 or rest + "н" in _KEEP or _n_stem(rest + "н") != alt
        ):
            rest, ending = word, ""
        taken += [ending] if ending else []
    for slot in (_possessive, _plural):
        if _keep(rest):
            break
        new, ending = slot(rest, alt)
        if ending:
            taken.append(ending)
            rest = _undo_sound_changes(new, ending)
    return rest, taken


def _n_stem(word: str) -> bool:
    """Whether «…ны» reads as a stem in -н with -ы (ауданы, берілгені) rather than a vowel stem
    with the accusative -ны (баланы): for the stems known to end in -н and for participles."""
    return word in _KEEP or _PARTICIPLE.search(word) is not None  # ауданы, берілгені


def _plural(word: str, alt: bool = False) -> tuple[str, str]:
    return _strip(word, _PLURAL)


def _chain(word: str, alt: bool = False) -> tuple[str, list[str]]:
    """Passes until none strips more: the stem and every ending taken, outermost first."""
    taken: list[str] = []
    for _ in range(4):
        rest, endings = _pass(word, alt)
        if not endings:
            break
        word, taken = rest, taken + endings
    return word, taken


def stem(word: str) -> str:
    """The stem of a folded Kazakh word: every form of a noun gives one stem (басшы, басшысы,
    басшыларының → басш), so a word typed in dictionary form finds it inflected."""
    return _chain(word)[0]


def stems(word: str) -> tuple[str, ...]:
    """``stem`` first, then the stem of the other reading where the letters allow two (баланы:
    бала|ны or балан|ы; баласы: бала|сы or балас|ы), as the analysis indexes and queries the
    other lemmas of an ambiguous Russian word."""
    first, taken = _chain(word)
    if _TWO_READINGS.isdisjoint(taken):
        return (first,)
    return tuple(dict.fromkeys((first, _chain(word, alt=True)[0])))


def kazakh_readings(word: str, russian_word: bool = False) -> tuple[str, ...]:
    """The Kazakh stems of a word without Kazakh letters that may be Kazakh as well as Russian
    (бала, патша, аудан, баласы): its letters all Kazakh uses and its vowels in harmony. Terms to
    add to the Russian ones, so «бала» typed finds «баласы» (no Kazakh letter in either), whose
    Russian analysis gives «бал» and «балас». Empty for a word Kazakh would not spell so.

    A ``russian_word`` (one the Russian dictionary knows: бала, ат, органы, работы) gets only
    itself, where Kazakh would leave it whole: a Kazakh stem cut from a Russian word is noise."""
    if is_kazakh(word) or _NOT_KAZAKH.search(word) or _harmony(word) == "" or not _harmonic(word):
        return ()
    if russian_word:
        return (word,) if stem(word) == word else ()
    return stems(word)


def _harmonic(word: str) -> bool:
    return not (any(ch in _BACK for ch in word) and any(ch in _FRONT for ch in word))


def kazakh_chain(word: str) -> int | None:
    """Where the Kazakh endings of a word without Kazakh letters start (its length if it has
    none yet is Kazakh), or None where nothing says it is Kazakh rather than Russian.

    Evidence: endings in a chain only Kazakh forms (заман|да, шарт|тар|ы, тарих|ы|нан, мектеп|ке),
    or a spelling Russian never has (басшы, тарихы). A lone -ы, -сы or -н (законы, кассы,
    Птицын) is no evidence; the caller asks only about words its Russian dictionary lacks.
    """
    rest, taken = _chain(word)
    spelled = _NOT_RUSSIAN.search(word) is not None and _RUSSIAN_TAIL.search(word) is None
    if not taken:
        return len(word) if spelled else None
    if spelled or (len(taken) >= 2 and taken not in (["н", "ы"], ["н", "і"])) or taken[0] not in _AMBIGUOUS:
        return len(rest) if word.startswith(rest) else _common_prefix(word, rest)
    return None


def _common_prefix(word: str, rest: str) -> int:
    """Where ``word`` and its stem part (the stem may differ in its last letter: кітап, кітабы)."""
    n = 0
    while n < min(len(word), len(rest)) and word[n] == rest[n]:
        n += 1
    return n
