"""Time, tokens and cost aggregated per agent, in the leaderboard JSON and tables."""

from __future__ import annotations

import json

import pytest

from posttrainbench.results import aggregate, to_csv, to_json, to_markdown

from .conftest import MakeResult


def test_usage_is_summed_and_partial_cost_is_counted(make_result: MakeResult) -> None:
    results = [
        make_result(
            "a", benchmark="gsm8k", prompt_tokens=1000, completion_tokens=500, cost_usd=2.0
        ),
        make_result("a", benchmark="humaneval", prompt_tokens=300, completion_tokens=None),
        make_result("a", benchmark="aime2025", solve_seconds=36_000.0),
    ]
    entry = aggregate(results).entries[0]
    assert entry.tokens == 1800
    assert entry.cost_usd == 2.0 and entry.cost_trials == 1
    assert entry.hours_used_total == 5 + 5 + 10
    assert entry.hours_used == pytest.approx(20 / 3)
    assert entry.budget_used == pytest.approx(20 / 3 / 10)

    row = json.loads(to_json(aggregate(results)))["rows"][0]
    assert (row["tokens"], row["cost_usd"]) == (1800, 2.0)
    assert "| 1,800 | 2.00 (1/3) |" in to_markdown(aggregate(results))
    assert to_csv(aggregate(results)).splitlines()[0].endswith(",tokens,cost_usd")


def test_no_usage_reported_stays_absent(make_result: MakeResult) -> None:
    entry = aggregate([make_result("a")]).entries[0]
    assert entry.tokens is None and entry.cost_usd is None and entry.cost_trials == 0
    document = json.loads(to_json(aggregate([make_result("a")])))
    assert document["leaderboard"]["entries"][0]["cost_usd"] is None
