"""The leaderboard as the paper computes it, plus spread, confidence and missing cells.

Method (arXiv 2603.08640): per (agent, base model, benchmark) the mean over replicates;
per benchmark the mean over base models; per run (replicate index) the weighted sum
Σ_b w_b × mean over base models; per agent the mean and sample std (n−1) of its run
averages. Fallback cells (flagged, no model, failed evaluation) already carry the base
model's zero-shot score in ``TrialResult.score``; they count like any score, and their
number and reasons are kept.

Missing-cell rule: the grid is every base model seen in the agents' results × every
weighted benchmark. A run with a grid cell that has no result, or only results without a
score, has no average (``None``) and its cells are listed in ``missing``. The agent's
average, std and CI are over its complete runs only, and ``complete`` is false whenever
anything is missing: a partial number is always flagged, never silently averaged over
fewer benchmarks or models. Benchmarks without a weight are shown per benchmark but are
not part of the average (``Leaderboard.unweighted_benchmarks``). Several results in one
(model, benchmark, replicate) slot (e.g. from two experiments) are averaged.

Honest ranking outside the paper's benchmarks: when the agents ran a benchmark that the
paper's weights do not cover (the toy ``arith``), a weighted average would rank every agent
on nothing; the average is then the unweighted mean over the benchmarks present, and the
weights' ``detail`` says so (tables, site and plots print it as a caption).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from posttrainbench.results._stats import (
    bootstrap_interval,
    mean_or_none,
    stdev_or_none,
)
from posttrainbench.results.record import TrialResult
from posttrainbench.results.summary import (
    AgentSummary,
    BenchmarkSummary,
    CellSummary,
    ConfidenceInterval,
    Leaderboard,
    MissingCell,
    ReplicateAverage,
    ResolvedWeights,
    WeightsSource,
)
from posttrainbench.results.weights import (
    load_weights_file,
    published_weights,
    weights_from_scores,
)
from posttrainbench.runs import agent_label

__all__ = [
    "BASELINE_AGENTS",
    "BASELINE_FEW_SHOT",
    "BASELINE_INSTRUCT",
    "BASELINE_ZERO_SHOT",
    "aggregate",
    "average_from_published_columns",
    "resolve_weights",
]

BASELINE_INSTRUCT = "baseline-instruct"
"""Agent name of results that score each base model's instruct counterpart."""
BASELINE_ZERO_SHOT = "baseline-zero-shot"
"""Agent name of results that score each base model itself, zero-shot."""
BASELINE_FEW_SHOT = "baseline-few-shot"
"""Agent name of results that score each base model with few-shot examples from allowed data."""
BASELINE_AGENTS = frozenset({BASELINE_INSTRUCT, BASELINE_ZERO_SHOT, BASELINE_FEW_SHOT})
"""Reference rows: aggregated like agents, but they never define the model grid."""

_Slot = tuple[str, str, int]
"""(base model, benchmark, replicate)."""


def average_from_published_columns(
    columns: Mapping[str, float], weights: Mapping[str, float]
) -> float:
    """The weighted average of one row's per-benchmark columns (mean over models each).

    Weights are renormalised over their own sum, so the rounded published weights (sum
    0.9999) can be passed as they are.

    Raises:
        ValueError: A weighted benchmark has no column.
    """
    absent = sorted(set(weights) - set(columns))
    if absent:
        raise ValueError(f"no column for weighted benchmarks: {', '.join(absent)}")
    total = math.fsum(weights.values())
    return math.fsum(weights[b] * columns[b] for b in weights) / total


def resolve_weights(
    results: Sequence[TrialResult], weights_file: Path | None = None
) -> ResolvedWeights:
    """Pick the weights: a user file if given, else store baselines, else the paper's.

    An explicit file always wins (the user asked for it). The store's baselines are used
    when both baseline agents have scores for every grid base model on every benchmark
    the agents ran; otherwise the published weights apply, and ``detail`` says why.

    Raises:
        UserError: The file is unusable, or the store's baselines give instruct <= base.
    """
    if weights_file is not None:
        return ResolvedWeights(
            weights=load_weights_file(weights_file),
            source=WeightsSource.FILE,
            detail=str(weights_file),
        )
    models = _grid_models(results)
    instruct = _baseline_means(results, BASELINE_INSTRUCT, models)
    base = _baseline_means(results, BASELINE_ZERO_SHOT, models)
    covered = set(instruct) & set(base)
    needed = {r.benchmark for r in results if r.agent not in BASELINE_AGENTS}
    if covered and needed <= covered:
        return ResolvedWeights(
            weights=weights_from_scores(
                {b: instruct[b] for b in covered}, {b: base[b] for b in covered}
            ),
            source=WeightsSource.STORE,
            detail=f"{BASELINE_INSTRUCT} and {BASELINE_ZERO_SHOT} results in the store",
        )
    published = published_weights()
    if needed - set(published):
        return ResolvedWeights(
            weights={b: 1 / len(needed) for b in sorted(needed)},
            source=WeightsSource.UNWEIGHTED,
            detail=(
                f"unweighted mean over the benchmarks present ({', '.join(sorted(needed))}): "
                f"the paper's weights do not cover {', '.join(sorted(needed - set(published)))}"
            ),
        )
    detail = "paper's published weights"
    if instruct or base:
        lacking = sorted((needed or set(instruct) | set(base)) - covered)
        detail += f" (store baselines incomplete for: {', '.join(lacking)})"
    return ResolvedWeights(weights=published, source=WeightsSource.PUBLISHED, detail=detail)


def aggregate(
    results: Sequence[TrialResult],
    weights: ResolvedWeights | None = None,
    *,
    seed: int = 0,
    resamples: int = 10_000,
    level: float = 0.95,
) -> Leaderboard:
    """Aggregate trial results into the leaderboard (see the module docstring).

    Args:
        results: Trial results, baseline rows included if there are any.
        weights: The weights to use; resolved with :func:`resolve_weights` when None.
        seed: Seed of the bootstrap (the same seed gives the same intervals).
        resamples: Bootstrap resamples per agent.
        level: Coverage of the bootstrap interval.
    """
    resolved = weights if weights is not None else resolve_weights(results)
    models = _grid_models(results)
    groups: dict[tuple[str, float], list[TrialResult]] = defaultdict(list)
    for result in results:
        groups[(agent_label(result.agent, result.agent_config), result.hours)].append(result)
    bootstrap = _Bootstrap(seed=seed, resamples=resamples, level=level)
    entries = [
        _summarise_agent(agent, hours, members, models, resolved.weights, bootstrap)
        for (agent, hours), members in groups.items()
    ]
    entries.sort(key=lambda e: (e.average is None, -(e.average or 0.0), e.agent, e.hours))
    seen = {r.benchmark for r in results}
    return Leaderboard(
        weights=resolved,
        models=models,
        benchmarks=sorted(resolved.weights),
        unweighted_benchmarks=sorted(seen - set(resolved.weights)),
        entries=entries,
    )


def _grid_models(results: Sequence[TrialResult]) -> list[str]:
    all_models = {r.model for r in results}
    agent_models = {r.model for r in results if r.agent not in BASELINE_AGENTS}
    return sorted(agent_models or all_models)


def _baseline_means(
    results: Sequence[TrialResult], agent: str, models: Sequence[str]
) -> dict[str, float]:
    """Per benchmark, the baseline's mean over ``models``, where all of them have a score."""
    members = [r for r in results if r.agent == agent]
    cells = _summarise_cells(members)
    benchmarks = {cell.benchmark for cell in cells}
    summaries = _benchmark_summaries(cells, models, sorted(benchmarks), {})
    return {s.benchmark: s.score for s in summaries if s.score is not None}


def _summarise_cells(members: Sequence[TrialResult]) -> list[CellSummary]:
    by_cell: dict[tuple[str, str], list[TrialResult]] = defaultdict(list)
    for result in members:
        by_cell[(result.model, result.benchmark)].append(result)
    cells = []
    for (model, benchmark), group in sorted(by_cell.items()):
        scores = [r.score for r in group if r.score is not None]
        reasons = Counter(r.fallback_reason for r in group if r.fallback_reason)
        cells.append(
            CellSummary(
                model=model,
                benchmark=benchmark,
                results=len(group),
                score=mean_or_none(scores),
                std=stdev_or_none(scores),
                raw_score=mean_or_none([r.raw_score for r in group if r.raw_score is not None]),
                fallbacks=sum(reasons.values()),
                fallback_reasons=dict(sorted(reasons.items())),
            )
        )
    return cells


def _benchmark_summaries(
    cells: Sequence[CellSummary],
    models: Sequence[str],
    benchmarks: Sequence[str],
    weights: Mapping[str, float],
    missing: Sequence[MissingCell] = (),
) -> list[BenchmarkSummary]:
    by_key = {(c.model, c.benchmark): c for c in cells}
    gaps = Counter(cell.benchmark for cell in missing)
    summaries = []
    for benchmark in benchmarks:
        present = [by_key[(m, benchmark)] for m in models if (m, benchmark) in by_key]
        scores = {c.model: c.score for c in present if c.score is not None}
        absent = [m for m in models if m not in scores]
        summaries.append(
            BenchmarkSummary(
                benchmark=benchmark,
                weight=weights.get(benchmark),
                score=None if absent else mean_or_none(list(scores.values())),
                missing_models=absent,
                missing_cells=gaps[benchmark],
                fallbacks=sum(c.fallbacks for c in present),
            )
        )
    return summaries


def _slot_scores(members: Sequence[TrialResult]) -> tuple[dict[_Slot, float], set[_Slot]]:
    """Mean score per slot, and the slots recorded only without a score."""
    scored: dict[_Slot, list[float]] = defaultdict(list)
    recorded: set[_Slot] = set()
    for r in members:
        slot = (r.model, r.benchmark, r.replicate)
        recorded.add(slot)
        if r.score is not None:
            scored[slot].append(r.score)
    means = {slot: math.fsum(values) / len(values) for slot, values in scored.items()}
    return means, recorded - set(means)


def _runs(
    members: Sequence[TrialResult], models: Sequence[str], weights: Mapping[str, float]
) -> tuple[list[ReplicateAverage], list[MissingCell]]:
    scores, unscored = _slot_scores(members)
    runs: list[ReplicateAverage] = []
    missing: list[MissingCell] = []
    for replicate in sorted({r.replicate for r in members}):
        gaps = [
            MissingCell(
                model=m,
                benchmark=b,
                replicate=replicate,
                reason="no score" if (m, b, replicate) in unscored else "no result",
            )
            for b in sorted(weights)
            for m in models
            if (m, b, replicate) not in scores
        ]
        average = None
        if not gaps:
            average = math.fsum(
                w * math.fsum(scores[(m, b, replicate)] for m in models) / len(models)
                for b, w in weights.items()
            )
        runs.append(ReplicateAverage(replicate=replicate, average=average, missing=len(gaps)))
        missing.extend(gaps)
    return runs, missing


@dataclass(frozen=True)
class _Bootstrap:
    seed: int
    resamples: int
    level: float

    def interval(self, values: Sequence[float]) -> ConfidenceInterval | None:
        bounds = bootstrap_interval(
            values, level=self.level, resamples=self.resamples, seed=self.seed
        )
        if bounds is None:
            return None
        return ConfidenceInterval(
            low=bounds[0],
            high=bounds[1],
            level=self.level,
            resamples=self.resamples,
            seed=self.seed,
        )


def _summarise_agent(
    agent: str,
    hours: float,
    members: Sequence[TrialResult],
    models: Sequence[str],
    weights: Mapping[str, float],
    bootstrap: _Bootstrap,
) -> AgentSummary:
    runs, missing = _runs(members, models, weights)
    averages = [run.average for run in runs if run.average is not None]
    cells = _summarise_cells(members)
    extra = sorted({c.benchmark for c in cells} - set(weights))
    reasons = Counter(r.fallback_reason for r in members if r.fallback_reason)
    used = [r.solve_seconds / 3600.0 for r in members]
    return AgentSummary(
        agent=agent,
        hours=hours,
        baseline=members[0].agent in BASELINE_AGENTS,
        average=mean_or_none(averages),
        std=stdev_or_none(averages),
        ci=bootstrap.interval(averages),
        runs=runs,
        complete=not missing,
        missing=missing,
        fallbacks=sum(reasons.values()),
        fallback_reasons=dict(sorted(reasons.items())),
        benchmarks=_benchmark_summaries(
            cells, models, [*sorted(weights), *extra], weights, missing
        ),
        cells=cells,
        hours_used=mean_or_none(used),
        budget_used=mean_or_none([u / hours for u in used]) if hours > 0 else None,
        cut_short=sum(1 for r in members if r.cut_short),
        **_usage(members),
    )


class _Usage(TypedDict):
    hours_used_total: float
    tokens: int | None
    cost_usd: float | None
    cost_trials: int


def _usage(members: Sequence[TrialResult]) -> _Usage:
    """Time, tokens and cost summed over an agent's trials (absent figures left out)."""
    tokens = [
        (r.prompt_tokens or 0) + (r.completion_tokens or 0)
        for r in members
        if r.prompt_tokens is not None or r.completion_tokens is not None
    ]
    costs = [r.cost_usd for r in members if r.cost_usd is not None]
    return _Usage(
        hours_used_total=math.fsum(r.solve_seconds for r in members) / 3600.0,
        tokens=sum(tokens) if tokens else None,
        cost_usd=math.fsum(costs) if costs else None,
        cost_trials=len(costs),
    )
