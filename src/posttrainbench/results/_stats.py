"""Small statistics helpers: means, sample std, a seeded percentile bootstrap."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

__all__ = ["bootstrap_interval", "mean_or_none", "stdev_or_none"]


def mean_or_none(values: Sequence[float]) -> float | None:
    """The mean, or None for no values."""
    return statistics.fmean(values) if values else None


def stdev_or_none(values: Sequence[float]) -> float | None:
    """The sample standard deviation (n−1), or None with fewer than two values."""
    if len(values) < 2:
        return None
    # Float arithmetic: statistics.stdev is exact but ~50x slower, and this runs per cell.
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def bootstrap_interval(
    values: Sequence[float], *, level: float, resamples: int, seed: int
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None with fewer than two values.

    Deterministic for a given ``seed``: the same values always give the same interval.
    """
    if len(values) < 2:
        return None
    import numpy as np  # here, not at import time: the CLI starts without it

    size = len(values)
    # All resamples in one array: a leaderboard of 100+ agents bootstraps in milliseconds.
    draws = np.random.default_rng(seed).integers(0, size, size=(resamples, size))
    means = np.sort(np.asarray(values, dtype=np.float64)[draws].mean(axis=1))
    tail = (1.0 - level) / 2.0
    low = means[max(0, math.floor(tail * resamples))]
    high = means[min(resamples - 1, math.ceil((1.0 - tail) * resamples) - 1)]
    return float(low), float(high)
