"""Toy results (benchmarks the paper does not weight): ranked honestly, and said so."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.results import (
    LeaderboardView,
    WeightsSource,
    aggregate,
    build_site,
    table_text,
    write_plots,
)
from posttrainbench.results._views import CUT_SHORT_MARK, UNISOLATED_MARK

from .conftest import MakeResult


@pytest.fixture
def demo_like(make_result: MakeResult) -> list:
    """The demo's two trials: noop at 0.0 and a trained model at 0.95, on arith only."""
    return [
        make_result(agent="noop", benchmark="arith", score=0.0, hours=0.5, solve_seconds=5),
        make_result(agent="reference", benchmark="arith", score=0.95, hours=0.5, solve_seconds=60),
    ]


def test_unweighted_benchmarks_rank_by_their_plain_mean(demo_like: list) -> None:
    board = aggregate(demo_like)
    assert board.weights.source is WeightsSource.UNWEIGHTED
    assert board.weights.weights == {"arith": 1.0}
    assert [e.agent for e in board.entries] == ["reference", "noop"]
    assert board.entries[0].average == pytest.approx(0.95)
    assert "unweighted mean over the benchmarks present (arith)" in board.weights.detail
    assert "do not cover arith" in board.weights.detail


def test_a_mix_with_one_unweighted_benchmark_averages_all_present(
    make_result: MakeResult,
) -> None:
    results = [
        make_result(agent="a", benchmark="gsm8k", score=0.4),
        make_result(agent="a", benchmark="arith", score=0.8),
    ]
    board = aggregate(results)
    assert board.weights.weights == {"arith": 0.5, "gsm8k": 0.5}
    assert board.entries[0].average == pytest.approx(0.6)


def test_table_caption_says_how_the_average_was_made(demo_like: list) -> None:
    text = table_text(aggregate(demo_like))
    assert "Average: unweighted mean over the benchmarks present (arith)" in text
    assert "—†" not in text
    assert text.index("reference") < text.index("noop")


def test_empty_benchmark_columns_are_hidden(demo_like: list) -> None:
    text = table_text(aggregate(demo_like), LeaderboardView.BY_BENCHMARK)
    assert "arith" in text
    for absent in ("gsm8k", "aime2025", "humaneval", "bfcl"):
        assert absent not in text


def test_a_trial_cut_short_is_marked(make_result: MakeResult) -> None:
    results = [
        make_result(
            agent="reference",
            benchmark="arith",
            score=0.2,
            cut_short="time budget: training stopped at step 117 of 500",
        )
    ]
    board = aggregate(results)
    assert board.entries[0].cut_short == 1
    text = table_text(board)
    assert f"reference{CUT_SHORT_MARK}" in text
    assert "cut the agent's work short" in text


def test_site_ranks_the_trained_model_first_with_the_caption(
    demo_like: list, tmp_path: Path
) -> None:
    board = aggregate(demo_like)
    build_site(board, demo_like, tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert page.index('data-agent="reference"') < page.index('data-agent="noop"')
    assert "Average: unweighted mean over the benchmarks present (arith)" in page
    assert ">gsm8k<" not in page


def test_plots_draw_the_main_chart_and_say_why_one_is_not_drawn(
    demo_like: list, tmp_path: Path
) -> None:
    skipped: dict[str, str] = {}
    written = write_plots(aggregate(demo_like), tmp_path, on_skip=skipped.__setitem__)
    names = {path.name for path in written}
    assert {"leaderboard.png", "leaderboard.svg", "benchmarks.svg"} <= names
    assert skipped == {"budgets": "needs agents at two or more time budgets (found 1)"}
    svg = (tmp_path / "leaderboard.svg").read_text()
    assert "unweighted mean over benchmarks" in svg
    benchmarks = (tmp_path / "benchmarks.svg").read_text()
    assert "arith" in benchmarks and "gsm8k" not in benchmarks


def test_an_unisolated_trial_is_marked_on_the_table_and_the_site(
    make_result: MakeResult, tmp_path: Path
) -> None:
    results = [
        make_result(agent="boxed", benchmark="arith", score=0.3),
        make_result(agent="loose", benchmark="arith", score=0.2, isolated=False),
    ]
    board = aggregate(results)
    assert [(e.agent, e.unisolated) for e in board.entries] == [("boxed", 0), ("loose", 1)]
    text = table_text(board)
    assert f"loose{UNISOLATED_MARK}" in text and f"boxed{UNISOLATED_MARK}" not in text
    assert "UNISOLATED: some trials of the agent ran with --sandbox process" in text
    build_site(board, results, tmp_path)
    page = (tmp_path / "index.html").read_text()
    row = page[page.index('data-agent="loose"') :].split("</tr>")[0]
    assert UNISOLATED_MARK in row
    assert UNISOLATED_MARK not in page[page.index('data-agent="boxed"') :].split("</tr>")[0]
    assert "UNISOLATED: some trials" in page
    pages = list((tmp_path / "trials").glob("*.html"))
    assert sum("UNISOLATED (--sandbox process)" in p.read_text() for p in pages) == 1
