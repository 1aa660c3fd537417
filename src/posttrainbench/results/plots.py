"""Leaderboard figures (matplotlib, PNG and SVG): the main chart, benchmarks, time, budgets.

matplotlib is a core dependency, imported only when a figure is drawn. Scores are drawn
×100, like the tables. A figure that cannot be drawn is never skipped silently: its
drawing function returns why, and ``write_plots`` passes that on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posttrainbench.errors import UserError
from posttrainbench.results.aggregate import BASELINE_INSTRUCT, BASELINE_ZERO_SHOT
from posttrainbench.results.summary import AgentSummary, Leaderboard, WeightsSource
from posttrainbench.results.weights import published_reference

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FIGURES", "reference_lines", "write_plots"]

FIGURES = ("leaderboard", "benchmarks", "time", "budgets")
"""Figure names, in the order they are written (``budgets`` needs several time budgets)."""

_FORMATS = ("png", "svg")


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise UserError(
            "Plots need matplotlib, a dependency of posttrainbench: pip install 'matplotlib>=3.8'."
        ) from error
    return Figure(figsize=(width, height), layout="constrained")


def _agents(board: Leaderboard) -> list[AgentSummary]:
    return [entry for entry in board.entries if not entry.baseline]


def _label(entry: AgentSummary, board: Leaderboard) -> str:
    several = len({e.hours for e in _agents(board)}) > 1
    return f"{entry.agent} ({entry.hours:g} h)" if several else entry.agent


def reference_lines(board: Leaderboard) -> dict[str, float]:
    """Instruct and base zero-shot averages (0..1): from the store, else the paper's rows.

    The paper's rows are used only when the weights are the published ones (the same
    average); otherwise a reference row is drawn only if the store holds it.
    """
    lines: dict[str, float] = {}
    for entry in board.entries:
        if entry.baseline and entry.average is not None:
            name = "instruct" if entry.agent == BASELINE_INSTRUCT else "base zero-shot"
            if entry.agent in {BASELINE_INSTRUCT, BASELINE_ZERO_SHOT}:
                lines.setdefault(name, entry.average)
    if board.weights.source.value == "published":
        reference = published_reference()
        lines.setdefault("instruct", reference.row("instruct").average / 100)
        lines.setdefault("base zero-shot", reference.row("base-zero-shot").average / 100)
    return lines


def _leaderboard(board: Leaderboard) -> Figure | str:
    entries = [e for e in _agents(board) if e.average is not None]
    if not entries:
        return "no agent has a complete run (every average is missing: see ptb leaderboard)"
    figure = _figure(max(6.0, 0.9 * len(entries) + 3), 4.5)
    axes = figure.add_subplot()
    names = [_label(e, board) for e in entries]
    values = [100 * (e.average or 0.0) for e in entries]
    errors = [100 * (e.std or 0.0) for e in entries]
    bars = axes.bar(names, values, yerr=errors, capsize=4, color="#4c78a8")
    axes.bar_label(bars, labels=[f"{v:.1f}" for v in values], padding=3, fontsize=8)
    for (name, value), style in zip(
        sorted(reference_lines(board).items()), ("--", ":"), strict=False
    ):
        label = f"{name} {100 * value:.1f}"
        axes.axhline(100 * value, linestyle=style, color="#555555", label=label)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper right", fontsize=8)
    axes.set_ylabel(f"{_average_name(board)} (×100)")
    axes.set_title("PostTrainBench: mean ± std over runs")
    figure.text(0.01, 0.005, _caption(board), fontsize=7, color="#555555")
    axes.tick_params(axis="x", labelrotation=30)
    return figure


def _average_name(board: Leaderboard) -> str:
    unweighted = board.weights.source is WeightsSource.UNWEIGHTED
    return "unweighted mean over benchmarks" if unweighted else "weighted average"


def _caption(board: Leaderboard) -> str:
    """Where the average comes from, printed under the main chart."""
    detail = board.weights.detail
    return (
        f"Average: {detail}."
        if board.weights.source is WeightsSource.UNWEIGHTED
        else (f"Weights: {board.weights.source.value} — {detail}.")
    )


def _benchmarks(board: Leaderboard) -> Figure | str:
    entries = _agents(board)
    scored = {s.benchmark for e in entries for s in e.benchmarks if s.score is not None}
    # Empty columns are hidden: a benchmark no agent has a score on draws nothing.
    benchmarks = [b for b in [*board.benchmarks, *board.unweighted_benchmarks] if b in scored]
    if not entries or not benchmarks:
        return "no agent has a score on any benchmark"
    figure = _figure(max(7.0, 1.1 * len(benchmarks) + 3), 4.5)
    axes = figure.add_subplot()
    width = 0.8 / len(entries)
    for i, entry in enumerate(entries):
        scores = {s.benchmark: s.score for s in entry.benchmarks}
        xs = [j + (i - (len(entries) - 1) / 2) * width for j in range(len(benchmarks))]
        ys = [100 * (scores.get(b) or 0.0) for b in benchmarks]
        axes.bar(xs, ys, width=width, label=_label(entry, board))
    axes.set_xticks(range(len(benchmarks)), benchmarks, rotation=20)
    axes.set_ylabel("score (×100), mean over base models")
    axes.set_title("Per benchmark")
    axes.legend(fontsize=8)
    return figure


def _time(board: Leaderboard) -> Figure | str:
    entries = [e for e in _agents(board) if e.hours_used is not None]
    if not entries:
        return "no agent recorded the time it ran"
    figure = _figure(7.0, max(2.5, 0.45 * len(entries) + 1.5))
    axes = figure.add_subplot()
    names = [_label(e, board) for e in entries]
    used = [e.hours_used or 0.0 for e in entries]
    axes.barh(names, [e.hours for e in entries], color="#dddddd", label="budget")
    bars = axes.barh(names, used, color="#f58518", label="used (mean per trial)")
    shares = [e.budget_used for e in entries]
    axes.bar_label(
        bars,
        labels=[f"{100 * share:.0f}%" if share is not None else "" for share in shares],
        padding=3,
        fontsize=8,
    )
    axes.invert_yaxis()
    axes.set_xlabel("hours")
    axes.set_title("Time spent per trial")
    axes.legend(fontsize=8)
    return figure


def _budgets(board: Leaderboard) -> Figure | str:
    series: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for entry in _agents(board):
        if entry.average is not None:
            series[entry.agent].append((entry.hours, entry.average, entry.std or 0.0))
    budgets = len({e.hours for e in _agents(board)})
    if budgets < 2 or not series:
        return f"needs agents at two or more time budgets (found {budgets})"
    figure = _figure(6.5, 4.5)
    axes = figure.add_subplot()
    for agent, points in sorted(series.items()):
        points.sort()
        axes.errorbar(
            [p[0] for p in points],
            [100 * p[1] for p in points],
            yerr=[100 * p[2] for p in points],
            marker="o",
            capsize=3,
            label=agent,
        )
    axes.set_xlabel("time budget (hours)")
    axes.set_ylabel(f"{_average_name(board)} (×100)")
    axes.set_title("Score vs time budget")
    axes.legend(fontsize=8)
    return figure


_DRAW: dict[str, Callable[[Leaderboard], Any]] = {
    "leaderboard": _leaderboard,
    "benchmarks": _benchmarks,
    "time": _time,
    "budgets": _budgets,
}


def write_plots(
    board: Leaderboard,
    out_dir: Path,
    on_skip: Callable[[str, str], None] | None = None,
) -> list[Path]:
    """Draw every figure that the leaderboard has data for into ``out_dir``.

    Each figure is written as ``<name>.png`` and ``<name>.svg``; a figure without data
    (e.g. ``budgets`` with one time budget) is not drawn, and ``on_skip(name, why)`` is
    told so. Returns the files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FIGURES:
        figure = _DRAW[name](board)
        if isinstance(figure, str):
            if on_skip is not None:
                on_skip(name, figure)
            continue
        for suffix in _FORMATS:
            path = out_dir / f"{name}.{suffix}"
            figure.savefig(path, dpi=120, metadata=_metadata(suffix))
            written.append(path)
    return written


def _metadata(suffix: str) -> dict[str, Any]:
    # A fixed date keeps the SVG the same for the same data.
    return {"Date": None} if suffix == "svg" else {}
