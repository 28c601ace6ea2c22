"""BIN/IIN, INN and KPP: check digits computed here, valid numbers found, near misses refused."""

from __future__ import annotations

import random

import pytest

from classify.identifiers import (
    find_identifiers,
    inn_check_digits,
    is_bin,
    is_iin,
    kz_check_digit,
    valid_bin_iin,
    valid_inn,
    valid_kpp,
)
from tests.classify.documents import bin_iin, inn


def _kz_check(first11: str) -> int | None:
    """The published algorithm, written out again: weights 1..11, then 3..11,1,2, modulo 11."""
    d = [int(c) for c in first11]
    first = sum(x * w for x, w in zip(d, range(1, 12))) % 11
    if first != 10:
        return first
    second = sum(x * w for x, w in zip(d, [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])) % 11
    return None if second == 10 else second


def _inn_digit(digits: str, weights: list[int]) -> str:
    return str(sum(int(x) * w for x, w in zip(digits, weights)) % 11 % 10)


def test_kz_check_digit_matches_the_algorithm_on_random_numbers() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        head = f"{rng.randrange(10**11):011d}"
        assert kz_check_digit(head) == _kz_check(head)
    # heads whose first sum is 10 go to the second weights; some have no check digit at all
    second = [h for h in (f"{n:011d}" for n in range(10**6, 10**6 + 3000)) if sum(int(x) * w for x, w in zip(h, range(1, 12))) % 11 == 10]
    assert second and all(kz_check_digit(h) == _kz_check(h) for h in second)
    assert any(kz_check_digit(h) is None for h in second) and any(kz_check_digit(h) is not None for h in second)


def test_inn_check_digits_match_the_algorithm() -> None:
    rng = random.Random(2)
    for _ in range(500):
        nine = f"{rng.randrange(10**9):09d}"
        assert inn_check_digits(nine) == _inn_digit(nine, [2, 4, 10, 3, 5, 9, 4, 6, 8])
        ten = f"{rng.randrange(10**10):010d}"
        eleventh = _inn_digit(ten, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8])
        assert inn_check_digits(ten) == eleventh + _inn_digit(ten + eleventh, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])


@pytest.mark.parametrize("seed", range(20))
def test_generated_numbers_validate_and_one_wrong_digit_does_not(seed: int) -> None:
    rng = random.Random(seed)
    for number, valid in ((bin_iin(rng), valid_bin_iin), (bin_iin(rng, legal=False), valid_bin_iin),
                          (inn(rng, 10), valid_inn), (inn(rng, 12), valid_inn)):  # fmt: skip
        assert valid(number)
        broken = number[:-1] + str((int(number[-1]) + 1 + rng.randrange(8)) % 10)
        assert not valid(broken)


def test_known_numbers() -> None:
    assert valid_inn("7707083893") and not valid_inn("7707083894")  # Sberbank
    assert valid_inn("500100732259") and not valid_inn("500100732258")
    assert valid_bin_iin("940740000911") and is_bin("940740000911") and not is_iin("940740000911")
    rng = random.Random(5)
    person = bin_iin(rng, legal=False)
    assert is_iin(person)
    assert valid_kpp("773601001") and valid_kpp("7736AB001") and not valid_kpp("77360100") and not valid_kpp("0000AB001")


def test_numbers_are_found_by_label_with_ocr_confusions_and_spaces() -> None:
    rng = random.Random(9)
    b, i = bin_iin(rng), inn(rng, 10)
    mangled_bin = b[:4] + " " + b[4:8] + " " + b[8:]
    mangled_inn = i.replace("0", "О").replace("3", "З")
    text = f"ТОО «Дала» БИН {mangled_bin}\nООО «Вектор» ИНН {mangled_inn}, КПП 7736О1001\nИНН/КПП 7707083893/773601001"
    found = [(name, f.value) for name, f in find_identifiers(text)]
    assert ("bin", b) in found and ("inn", i) in found and ("kpp", "773601001") in found
    assert ("inn", "7707083893") in found
    confidences = {f.value: f.confidence for _, f in find_identifiers(text)}
    assert confidences[b] < 0.98  # read through spaces: less certain


def test_invalid_and_unlabelled_short_numbers_are_not_taken() -> None:
    rng = random.Random(3)
    b = bin_iin(rng)
    wrong = b[:-1] + str((int(b[-1]) + 1) % 10)
    assert find_identifiers(f"БИН {wrong}") == []
    assert find_identifiers("ИНН 7707083894") == []
    assert find_identifiers("тел 7707083893 счёт") == []  # ten digits without a label: could be a phone
    assert [n for n, _ in find_identifiers(f"Реквизиты: {b}, тенге")] == ["bin"]
