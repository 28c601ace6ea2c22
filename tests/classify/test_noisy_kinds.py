"""Kinds found in text as phone photos are read: keywords matched with a few letters wrong.

The damage imitates what Tesseract does to small photos (bench/results/photo-kinds.md): Cyrillic
letters read as their neighbours in shape (и/н/п, е/с, т/г, о/а), a letter dropped, a word split,
Latin look-alikes. Generated documents only (tests/classify/documents.py), no samples.
"""

from __future__ import annotations

import random

import pytest

from classify.kinds import load_kinds
from classify.normalize import fold
from classify.rules import fuzzy_spans, score_text
from tests.classify.documents import KINDS, generate

#: letters Tesseract reads in place of others on small photos
CONFUSED = {"и": "н", "н": "и", "п": "н", "в": "п", "е": "с", "с": "е", "т": "г", "о": "а", "а": "о", "л": "п", "ц": "и", "з": "э"}
_LOOKALIKE = str.maketrans({"о": "o", "а": "a", "е": "e", "с": "c", "р": "p", "у": "y", "х": "x"})


def ocr_damage(text: str, rng: random.Random, rate: float) -> str:
    """``text`` with about ``rate`` of its letters confused, and words split, shortened or
    written in Latin look-alikes."""
    out = []
    for word in text.split(" "):
        chars = [
            (CONFUSED[ch.lower()] if ch.islower() else CONFUSED[ch.lower()].upper()) if ch.lower() in CONFUSED and rng.random() < rate else ch
            for ch in word
        ]
        damaged = "".join(chars)
        r = rng.random()
        if len(damaged) > 6 and r < rate:
            cut = rng.randrange(2, len(damaged) - 2)
            damaged = damaged[:cut] + " " + damaged[cut:]
        elif len(damaged) > 6 and r < 2 * rate:
            cut = rng.randrange(1, len(damaged) - 1)
            damaged = damaged[:cut] + damaged[cut + 1 :]
        elif r > 1 - rate / 2:
            damaged = damaged.translate(_LOOKALIKE)
        out.append(damaged)
    return " ".join(out)


@pytest.fixture(scope="module")
def kinds():  # type: ignore[no-untyped-def]
    return load_kinds()


def test_damaged_documents_keep_their_kind(kinds) -> None:  # type: ignore[no-untyped-def]
    """8 documents of every kind, 8 % of letters confused: exact matching loses some of them
    (no kind found), fuzzy matching finds every one and never another kind."""
    rng = random.Random(5)
    exact_right = fuzzy_right = fuzzy_wrong = total = 0
    for kind in KINDS:
        for _ in range(8):
            text = ocr_damage(generate(kind, rng).text, rng, 0.08)
            total += 1
            exact_right += score_text(text, kinds, fuzzy=False).best[0] == kind
            found = score_text(text, kinds).best[0]
            fuzzy_right += found == kind
            fuzzy_wrong += found not in (kind, None)
    assert fuzzy_wrong == 0
    assert fuzzy_right >= 0.97 * total
    assert exact_right < fuzzy_right


def test_misread_heading_outweighs_a_mention_of_another_kind(kinds) -> None:  # type: ignore[no-untyped-def]
    """An act appended to a sales contract names the contract first; its own heading is misread."""
    text = (
        "Приложение № 2\nк Договору купли-продажи № 14\n\n"
        "АКГ прнема-передачи оборудования\n\n"
        "Продавец передал, а Покупатель принял оборудование в исправном состоянии.\n"
    )
    assert score_text(text, kinds, fuzzy=False).best[0] == "sales_contract"
    assert score_text(text, kinds).best[0] == "acceptance_act"


@pytest.mark.parametrize(
    "text, kind",
    [
        ("АВАНСОВЫИ ОТЧЁГ № 7\nПодотчетное лицо Петров С. В.", "advance_report"),
        ("ДОВЕРЕНИОСТЬ № 12\nнастоящей доверениостью уполномочиваст", "power_of_attorney"),
        ("ТОВАРНАЯ НАКЛАДИАЯ № 5\nГрузоотправитсль ООО «Склад»", "waybill_torg12"),
        ("Зоявление\nПрошу предоставить мне отпуск", "leave_application"),
    ],
)
def test_misread_kind_names_are_found(kinds, text: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    assert score_text(text, kinds).best[0] == kind


def test_other_kinds_are_not_pulled_in(kinds) -> None:  # type: ignore[no-untyped-def]
    """Clean generated documents of every kind: the fuzzy matches add nothing that changes a kind,
    and no other kind comes within half of the right one's score."""
    rng = random.Random(11)
    for kind in KINDS:
        for _ in range(5):
            text = generate(kind, rng).text
            scores = score_text(text, kinds).scores
            assert max(scores, key=lambda k: scores[k]) == kind, text
            assert all(s < 0.5 * scores[kind] for k, s in scores.items() if k != kind), (text, scores)


def test_fuzzy_matches_start_at_a_word_and_skip_short_keywords(kinds) -> None:  # type: ignore[no-untyped-def]
    cues = {c.source: c for k in kinds.kinds for c in k.cues}
    # a long keyword inside another word is no match: «…уставный» is not «устав», «переотпуск» not «отпуск»
    body = fold("переавансовый отчет и другие бумаги")
    assert id(cues["авансовый отчет"]) not in fuzzy_spans([cues["авансовый отчет"]], body)
    body = fold("авансовыи отчег за май")
    assert fuzzy_spans([cues["авансовый отчет"]], body) == {id(cues["авансовый отчет"]): (0, 15)}
    # a short keyword with a letter wrong is another word: matched only as written
    assert fuzzy_spans([cues["отпуск"]], fold("отнуск")) == {}
    assert score_text("составили опись", kinds).best[0] is None
