"""The published shape of a leaderboard: the pydantic models that aggregation fills.

Scores are fractions 0..1 as recorded; the outputs show them ×100.
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = [
    "AgentSummary",
    "BenchmarkSummary",
    "CellSummary",
    "ConfidenceInterval",
    "Leaderboard",
    "MissingCell",
    "ReplicateAverage",
    "ResolvedWeights",
    "WeightsSource",
]


class WeightsSource(StrEnum):
    """Where the benchmark weights of a leaderboard came from."""

    FILE = "file"
    STORE = "store"
    PUBLISHED = "published"
    UNWEIGHTED = "unweighted"
    """The paper's weights do not cover the benchmarks present: their plain mean."""


class _Published(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResolvedWeights(_Published):
    """The weights used, and where they came from."""

    weights: dict[str, float]
    """Benchmark id -> weight; sums to 1. Its keys are the benchmarks of the average."""
    source: WeightsSource
    """A user file, the baseline results in the store, or the paper's published weights."""
    detail: str
    """Human-readable provenance: the file path, or why the store was (not) used."""

    @field_validator("weights")
    @classmethod
    def _normalised(cls, weights: dict[str, float]) -> dict[str, float]:
        if not weights or any(not (w > 0 and math.isfinite(w)) for w in weights.values()):
            raise ValueError("weights must be a non-empty mapping of positive numbers")
        if not math.isclose(math.fsum(weights.values()), 1.0, abs_tol=1e-9):
            raise ValueError("weights must sum to 1 (see normalise_weights)")
        return weights


class MissingCell(_Published):
    """A grid cell without a score in one run."""

    model: str
    """Base model."""
    benchmark: str
    """Benchmark id."""
    replicate: int
    """Run (replicate index) that lacks the cell."""
    reason: str
    """``no result`` (never recorded) or ``no score`` (recorded without a score)."""


class CellSummary(_Published):
    """One (agent, base model, benchmark) cell over its replicates."""

    model: str
    """Base model."""
    benchmark: str
    """Benchmark id."""
    results: int
    """Trial results recorded for the cell (all replicates)."""
    score: float | None
    """Mean of the counted scores (fallback scores included), as published."""
    std: float | None
    """Sample std of the counted scores (None with fewer than two)."""
    raw_score: float | None
    """Mean of what the submitted models scored, where they could be evaluated."""
    fallbacks: int
    """Results whose score is the base model's score."""
    fallback_reasons: dict[str, int]
    """Why the fallbacks applied: reason -> count."""


class BenchmarkSummary(_Published):
    """One agent on one benchmark: the mean over base models of the cell means."""

    benchmark: str
    """Benchmark id."""
    weight: float | None
    """Its weight in the average (None: not part of the average)."""
    score: float | None
    """Mean over the grid's base models; None when any of them has no score."""
    missing_models: list[str]
    """Grid base models without any score on this benchmark."""
    missing_cells: int
    """(Base model, run) cells of this benchmark without a score (see ``missing``)."""
    fallbacks: int
    """Fallback results over all base models and replicates."""


class ReplicateAverage(_Published):
    """One run (replicate index) of an agent: Σ_b w_b × mean over base models."""

    replicate: int
    """Replicate index."""
    average: float | None
    """The weighted average; None when any grid cell of this run is missing."""
    missing: int
    """How many grid cells of this run have no score."""


class ConfidenceInterval(_Published):
    """Percentile bootstrap interval of the mean over run averages."""

    low: float
    """Lower bound."""
    high: float
    """Upper bound."""
    level: float
    """Coverage, e.g. 0.95."""
    resamples: int
    """Bootstrap resamples drawn."""
    seed: int
    """Seed of the resampling (the interval is deterministic given it)."""


class AgentSummary(_Published):
    """One agent configuration at one time budget: a leaderboard row."""

    agent: str
    """Agent name, ``name:config`` when it has a config."""
    hours: float
    """Time budget of its trials."""
    baseline: bool
    """A reference row (instruct or base zero-shot), not an agent."""
    average: float | None
    """Mean of the complete run averages (None when no run is complete)."""
    std: float | None
    """Sample std (n−1) of the complete run averages (None with fewer than two)."""
    ci: ConfidenceInterval | None
    """Bootstrap CI of ``average`` (None with fewer than two complete runs)."""
    runs: list[ReplicateAverage]
    """Every run, complete or not."""
    complete: bool
    """No grid cell is missing in any run."""
    missing: list[MissingCell]
    """Every missing grid cell."""
    fallbacks: int
    """Results scored with the base model's score."""
    fallback_reasons: dict[str, int]
    """Why: reason -> count."""
    benchmarks: list[BenchmarkSummary]
    """Per-benchmark breakdown (weighted benchmarks first)."""
    cells: list[CellSummary]
    """Per (base model, benchmark) cell."""
    hours_used: float | None
    """Mean wall time the agent ran per trial, in hours."""
    budget_used: float | None
    """Mean fraction of the time budget used (None for a zero budget)."""
    hours_used_total: float = 0.0
    """Wall time the agent ran over all its trials, in hours."""
    tokens: int | None = None
    """Prompt + completion tokens over the trials that reported usage (None: none did)."""
    cost_usd: float | None = None
    """Cost over the trials that reported one, in US dollars (None: none did)."""
    cost_trials: int = 0
    """Trials that reported a cost (``cost_usd`` covers only these)."""
    cut_short: int = 0
    """Trials whose work the time budget cut short (``TrialResult.cut_short``)."""
    unisolated: int = 0
    """Trials whose agent ran without a sandbox (``TrialResult.isolated`` false)."""


class Leaderboard(_Published):
    """Every agent's row, with the weights and grid they were computed on."""

    weights: ResolvedWeights
    """The weights of the average and their provenance."""
    models: list[str]
    """The grid's base models."""
    benchmarks: list[str]
    """The grid's benchmarks: those with a weight."""
    unweighted_benchmarks: list[str]
    """Benchmarks with results but no weight (shown, not averaged)."""
    entries: list[AgentSummary]
    """Rows, best average first; rows without an average last."""
