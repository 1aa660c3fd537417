import statistics
from pathlib import Path

import pytest

from posttrainbench.results import ResultStore, TrialResult, leaderboard


def result(
    agent: str,
    replicate: int,
    score: float | None,
    *,
    raw: float | None = None,
    fallback: str | None = None,
    benchmark: str = "arith",
) -> TrialResult:
    return TrialResult(
        trial_id=f"{agent}-{benchmark}-{replicate}",
        experiment="x",
        agent=agent,
        agent_config="",
        model="/m/base",
        benchmark=benchmark,
        hours=1.0,
        replicate=replicate,
        score=score,
        raw_score=score if raw is None and fallback is None else raw,
        base_score=None,
        stderr=None,
        fallback_reason=fallback,
        audit_verdict="not_run",
        solve_seconds=1.0,
        solve_outcome="exited",
        harness_version="0",
        finished_at="2026-01-01T00:00:00+00:00",
    )


def test_replicates_are_averaged_with_sample_std() -> None:
    rows = leaderboard([result("a", 1, 0.2), result("a", 2, 0.4), result("a", 3, 0.9)])
    assert len(rows) == 1
    assert rows[0].score == pytest.approx(0.5)
    assert rows[0].std == pytest.approx(statistics.stdev([0.2, 0.4, 0.9]))
    assert rows[0].replicates == 3


def test_fallbacks_count_with_the_base_score_but_not_in_raw() -> None:
    rows = leaderboard([result("a", 1, 0.6), result("a", 2, 0.1, raw=None, fallback="no model")])
    assert rows[0].score == pytest.approx(0.35)
    assert rows[0].raw_score == pytest.approx(0.6)
    assert rows[0].fallbacks == 1


def test_rows_are_sorted_best_first_per_benchmark() -> None:
    rows = leaderboard([result("low", 1, 0.1), result("high", 1, 0.8)])
    assert [row.agent for row in rows] == ["high", "low"]


def test_store_round_trips_results(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "index.sqlite")
    store.upsert_result(result("a", 1, 0.5))
    store.upsert_result(result("a", 1, 0.7))  # same trial again: replaced, not duplicated
    stored = store.results()
    assert [r.score for r in stored] == [0.7]
    assert store.results("other-experiment") == []
