"""Leaderboard figures drawn with matplotlib into PNG and SVG files."""

from __future__ import annotations

from pathlib import Path

from posttrainbench.results import aggregate, write_plots
from posttrainbench.results.plots import reference_lines
from posttrainbench.results.weights import published_weights

from .conftest import MakeGrid

SEVEN = {b: 0.3 for b in published_weights()}


def _board(make_grid: MakeGrid, **overrides: object):
    results = [
        *make_grid(SEVEN, agent="alpha", shift={1: 0.0, 2: 0.02, 3: -0.01}, **overrides),
        *make_grid({b: 0.2 for b in SEVEN}, agent="beta", shift={1: 0.0, 2: 0.01}, **overrides),
    ]
    return results


def test_one_budget_writes_three_figures_in_both_formats(
    make_grid: MakeGrid, tmp_path: Path
) -> None:
    board = aggregate(_board(make_grid))
    written = write_plots(board, tmp_path)
    assert sorted(p.name for p in written) == [
        f"{name}.{ext}" for name in ("benchmarks", "leaderboard", "time") for ext in ("png", "svg")
    ]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG") if path.suffix == ".png" else b"<svg" in data[:2000]
    svg = (tmp_path / "leaderboard.svg").read_text()
    # Bar labels carry the averages; the reference lines are the paper's rows.
    assert "30.3" in svg and "20.5" in svg
    assert "instruct 51.1" in svg and "base zero-shot 7.5" in svg


def test_several_budgets_add_the_budget_figure(make_grid: MakeGrid, tmp_path: Path) -> None:
    results = _board(make_grid) + _board(make_grid, hours=2.0)
    written = write_plots(aggregate(results), tmp_path)
    assert tmp_path / "budgets.svg" in written and tmp_path / "budgets.png" in written


def test_reference_lines_prefer_the_stores_baselines(make_grid: MakeGrid) -> None:
    results = [
        *make_grid(SEVEN, agent="alpha"),
        *make_grid({b: 0.8 for b in SEVEN}, agent="baseline-instruct"),
        *make_grid({b: 0.1 for b in SEVEN}, agent="baseline-zero-shot"),
    ]
    lines = reference_lines(aggregate(results))
    assert round(lines["instruct"], 6) == 0.8 and round(lines["base zero-shot"], 6) == 0.1
