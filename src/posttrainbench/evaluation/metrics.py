"""The outcome of one evaluation, as persisted in ``metrics.json``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Metrics"]


class Metrics(BaseModel):
    """Score of one model on one benchmark (``accuracy`` is what aggregation reads)."""

    model_config = ConfigDict(extra="forbid")

    accuracy: float
    """Benchmark score in [0, 1]."""
    stderr: float | None
    """Standard error of ``accuracy``."""
    n: int
    """Items evaluated."""
    benchmark: str
    max_tokens: int
    """Generation limit used (the retry ladder may lower it)."""
    log_file: str | None = None
    """The inspect-ai log of this evaluation, relative to the metrics file."""
