"""Per-cell aggregation of trial results: mean and spread over replicates."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from posttrainbench.results.record import TrialResult
from posttrainbench.runs import agent_label

__all__ = ["LeaderboardRow", "leaderboard"]


class LeaderboardRow(BaseModel):
    """One (agent, base model, benchmark, budget) cell over its replicates."""

    model_config = ConfigDict(extra="forbid")

    agent: str
    model: str
    benchmark: str
    hours: float
    replicates: int
    score: float | None
    """Mean of the counted scores (fallbacks included), as published."""
    std: float | None
    """Sample standard deviation over replicates (None with fewer than two)."""
    raw_score: float | None
    """Mean of what the submitted models scored, where they could be evaluated."""
    fallbacks: int
    """Replicates whose score is the base score, and why (see each trial)."""


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def leaderboard(results: Sequence[TrialResult]) -> list[LeaderboardRow]:
    """Group results by cell and aggregate; rows sorted best score first."""
    cells: dict[tuple[str, str, str, float], list[TrialResult]] = defaultdict(list)
    for result in results:
        agent = agent_label(result.agent, result.agent_config)
        cells[(agent, result.model, result.benchmark, result.hours)].append(result)
    rows = []
    for (agent, model, benchmark, hours), members in cells.items():
        scores = [r.score for r in members if r.score is not None]
        raws = [r.raw_score for r in members if r.raw_score is not None]
        rows.append(
            LeaderboardRow(
                agent=agent,
                model=model,
                benchmark=benchmark,
                hours=hours,
                replicates=len(members),
                score=_mean(scores),
                std=statistics.stdev(scores) if len(scores) > 1 else None,
                raw_score=_mean(raws),
                fallbacks=sum(1 for r in members if r.fallback_reason),
            )
        )
    return sorted(rows, key=lambda row: (row.benchmark, -(row.score or 0.0), row.agent))
