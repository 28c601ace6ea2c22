"""Statistics the benches share; the standard library only, so a bench's client processes can
import it without the weight of the application's dependencies."""

from __future__ import annotations

__all__ = ["pct"]


def pct(values: list[float], p: float) -> float:
    """Percentile with linear interpolation (numpy's default); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)
