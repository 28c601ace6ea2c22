"""Character error rate for tests, with the benchmark's metric (bench/metrics.py): one definition."""

from __future__ import annotations

from bench.metrics import cer as _cer


def cer(truth: str, found: str) -> float:
    """CER of ``found`` against ``truth`` on whitespace-normalised text."""
    return _cer(found, truth)
