"""Character error rate for tests: edit distance over whitespace-normalised text."""

from __future__ import annotations


def normalise(text: str) -> str:
    return " ".join(text.split())


def edit_distance(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(truth: str, found: str) -> float:
    t, f = normalise(truth), normalise(found)
    return edit_distance(t, f) / max(len(t), 1)
