"""Leaderboard figures (matplotlib, PNG and SVG): the main chart, benchmarks, time, budgets.

matplotlib is an optional dependency (``pip install 'posttrainbench[plots]'``), imported
only when a figure is drawn. Scores are drawn ×100, like the tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posttrainbench.errors import UserError
from posttrainbench.results.aggregate import BASELINE_INSTRUCT, BASELINE_ZERO_SHOT
from posttrainbench.results.summary import AgentSummary, Leaderboard
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
        raise UserError("Plots need matplotlib: pip install 'posttrainbench[plots]'.") from error
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


def _leaderboard(board: Leaderboard) -> Figure | None:
    entries = [e for e in _agents(board) if e.average is not None]
    if not entries:
        return None
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
    axes.set_ylabel("weighted average (×100)")
    axes.set_title("PostTrainBench: mean ± std over runs")
    axes.tick_params(axis="x", labelrotation=30)
    return figure


def _benchmarks(board: Leaderboard) -> Figure | None:
    entries = _agents(board)
    benchmarks = [*board.benchmarks, *board.unweighted_benchmarks]
    if not entries or not benchmarks:
        return None
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


def _time(board: Leaderboard) -> Figure | None:
    entries = [e for e in _agents(board) if e.hours_used is not None]
    if not entries:
        return None
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


def _budgets(board: Leaderboard) -> Figure | None:
    series: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for entry in _agents(board):
        if entry.average is not None:
            series[entry.agent].append((entry.hours, entry.average, entry.std or 0.0))
    if len({e.hours for e in _agents(board)}) < 2 or not series:
        return None
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
    axes.set_ylabel("weighted average (×100)")
    axes.set_title("Score vs time budget")
    axes.legend(fontsize=8)
    return figure


_DRAW: dict[str, Callable[[Leaderboard], Any]] = {
    "leaderboard": _leaderboard,
    "benchmarks": _benchmarks,
    "time": _time,
    "budgets": _budgets,
}


def write_plots(board: Leaderboard, out_dir: Path) -> list[Path]:
    """Draw every figure that the leaderboard has data for into ``out_dir``.

    Each figure is written as ``<name>.png`` and ``<name>.svg``; a figure without data
    (e.g. ``budgets`` with one time budget) is skipped. Returns the files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FIGURES:
        figure = _DRAW[name](board)
        if figure is None:
            continue
        for suffix in _FORMATS:
            path = out_dir / f"{name}.{suffix}"
            figure.savefig(path, dpi=120, metadata=_metadata(suffix))
            written.append(path)
    return written


def _metadata(suffix: str) -> dict[str, Any]:
    # A fixed date keeps the SVG the same for the same data.
    return {"Date": None} if suffix == "svg" else {}
