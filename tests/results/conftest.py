"""Factories for trial results, shared by the aggregation tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from posttrainbench.results import TrialResult

MakeResult = Callable[..., TrialResult]
MakeGrid = Callable[..., list[TrialResult]]

MODELS = ("org/model-a", "org/model-b")


@pytest.fixture
def make_result() -> MakeResult:
    """Build one TrialResult; keyword arguments override the defaults."""

    def build(
        agent: str = "agent",
        model: str = MODELS[0],
        benchmark: str = "gsm8k",
        replicate: int = 1,
        score: float | None = 0.5,
        **overrides: Any,
    ) -> TrialResult:
        fields: dict[str, Any] = {
            "trial_id": f"{agent}-{model}-{benchmark}-{replicate}",
            "experiment": "x",
            "agent": agent,
            "agent_config": "",
            "model": model,
            "benchmark": benchmark,
            "hours": 10.0,
            "replicate": replicate,
            "score": score,
            "raw_score": score,
            "base_score": None,
            "stderr": None,
            "fallback_reason": None,
            "audit_verdict": "clean",
            "solve_seconds": 18_000.0,
            "solve_outcome": "exited",
            "harness_version": "0",
            "finished_at": "2026-01-01T00:00:00+00:00",
        }
        fields.update(overrides)
        return TrialResult(**fields)

    return build


@pytest.fixture
def make_grid(make_result: MakeResult) -> MakeGrid:
    """Results for every (model, benchmark, replicate): ``scores[benchmark]`` per model.

    ``shift[replicate]`` is added to every score of that replicate.
    """

    def build(
        scores: Mapping[str, float],
        *,
        agent: str = "agent",
        models: tuple[str, ...] = MODELS,
        shift: Mapping[int, float] | None = None,
        **overrides: Any,
    ) -> list[TrialResult]:
        shifts = shift or {1: 0.0}
        return [
            make_result(agent, model, benchmark, replicate, value + delta, **overrides)
            for replicate, delta in shifts.items()
            for model in models
            for benchmark, value in scores.items()
        ]

    return build
