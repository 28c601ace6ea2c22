"""The character error rate the OCR tests and the benchmark share (bench/metrics.py)."""

from __future__ import annotations

import pytest

from bench.metrics import cer, cer_order_free, levenshtein, score, word_accuracy


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("kitten", "sitting", 3),
        ("", "abc", 3),
        ("Счёт на оплату", "Счет на оплату", 1),  # ё and е are different letters to CER
        ("№ 45/12-п", "No 45/12-n", 3),  # № read as No: one substitution, one insertion
        ("құжат", "кужат", 2),
    ],
)
def test_edit_distance_counts_inserts_deletes_and_substitutions(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == levenshtein(b, a) == distance


def test_cer_is_edits_over_the_normalised_truth_and_word_accuracy_ignores_order() -> None:
    assert cer("Счёт  на\nоплату", "Счёт на оплату") == 0.0  # whitespace runs are one space
    assert cer("Счет на оплату", "Счёт на оплату") == pytest.approx(1 / 14)
    assert cer("", "") == 0.0 and cer("x", "") == float("inf")
    assert cer_order_free("оплату на Счёт", "Счёт на оплату") == 0.0
    assert word_accuracy("оплату, на счёт", "Счёт на оплату.") == pytest.approx(2 / 3)  # case counts
    assert (score("ab", "abc") + score("x", "y")).cer == pytest.approx(2 / 4)  # summed, not averaged
