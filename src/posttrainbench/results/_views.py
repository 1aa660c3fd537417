"""Leaderboard views as format-neutral tables, shared by CSV, JSON, Markdown and rich.

Each value carries both its machine form (fractions 0..1, full precision, ``None`` when
absent) and its human text (×100, one decimal, with markers: ``*`` fallback applied,
``†`` partial or missing; ``‡`` after an agent: the budget cut some trial short; ``§``
after an agent: some trial ran unisolated, ``--sandbox process``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from posttrainbench.results.summary import AgentSummary, Leaderboard, WeightsSource

__all__ = [
    "FALLBACK_MARK",
    "MISSING_MARK",
    "CUT_SHORT_MARK",
    "UNISOLATED_MARK",
    "Column",
    "LeaderboardView",
    "TableView",
    "Value",
    "records",
    "short_model",
]

FALLBACK_MARK = "*"
MISSING_MARK = "†"
CUT_SHORT_MARK = "‡"
"""After an agent's name: the time budget cut the work of some of its trials short."""
UNISOLATED_MARK = "§"
"""After an agent's name: some of its trials ran in the unisolated ``process`` sandbox."""

Data = float | int | str | None


class LeaderboardView(StrEnum):
    """Which table of a leaderboard to show."""

    AGENTS = "agents"
    BY_BENCHMARK = "by-benchmark"
    BY_MODEL = "by-model"


@dataclass(frozen=True)
class Column:
    """A column: its machine key (CSV header, JSON key) and human title."""

    key: str
    title: str
    numeric: bool = True


@dataclass(frozen=True)
class Value:
    """One table value, for machines (``data``) and for people (``text``)."""

    data: Data
    text: str


@dataclass(frozen=True)
class TableView:
    """A rendered-agnostic table with notes (weights provenance, marker legend)."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    notes: tuple[str, ...]

    @classmethod
    def of(cls, board: Leaderboard, view: LeaderboardView) -> TableView:
        """The table of ``board`` for ``view``."""
        return _BUILDERS[view](board)


def _score(value: float | None, *, fallback: bool = False, partial: bool = False) -> Value:
    text = "—" if value is None else f"{100 * value:.1f}"
    marks = (FALLBACK_MARK if fallback else "") + (MISSING_MARK if partial else "")
    return Value(value, text + marks)


def _text(value: str) -> Value:
    return Value(value, value)


def _count(value: int) -> Value:
    return Value(value, str(value))


def _hours(value: float | None) -> Value:
    return Value(value, "—" if value is None else f"{value:g} h")


def _reasons(reasons: Mapping[str, int]) -> Value:
    return _text("; ".join(f"{reason}: {n}" for reason, n in reasons.items()))


def short_model(model: str) -> str:
    """The last path component of a model id or directory (``org/name`` -> ``name``)."""
    return model.rstrip("/").split("/")[-1]


_AGENT_COLUMNS = (Column("agent", "agent", numeric=False), Column("hours", "budget"))


def _notes(board: Leaderboard) -> tuple[str, ...]:
    source = board.weights
    if source.source is WeightsSource.UNWEIGHTED:
        notes = [f"Average: {source.detail}."]
    else:
        notes = [f"Weights: {source.source.value} — {source.detail}."]
    if any(entry.cut_short for entry in board.entries):
        notes.append(
            f"{CUT_SHORT_MARK} the time budget cut the agent's work short in some trials "
            "(see each trial's cut_short)."
        )
    if any(entry.unisolated for entry in board.entries):
        notes.append(
            f"{UNISOLATED_MARK} UNISOLATED: some trials of the agent ran with --sandbox process "
            "(no sandbox: it could reach the host, other trials and the harness)."
        )
    if any(entry.fallbacks for entry in board.entries):
        notes.append(f"{FALLBACK_MARK} includes trials scored with the base model's score.")
    if any(not entry.complete for entry in board.entries):
        notes.append(
            f"{MISSING_MARK} missing cells: averages use complete runs only "
            "(see the JSON output for the list)."
        )
    if board.unweighted_benchmarks:
        notes.append(f"Not in the average (no weight): {', '.join(board.unweighted_benchmarks)}.")
    return tuple(notes)


def _agents(board: Leaderboard) -> TableView:
    columns = (
        *_AGENT_COLUMNS,
        Column("runs", "runs"),
        Column("average", "average"),
        Column("std", "± std"),
        Column("ci_low", "95% CI low"),
        Column("ci_high", "95% CI high"),
        Column("fallbacks", "fallbacks"),
        Column("fallback_reasons", "fallback reasons", numeric=False),
        Column("missing_cells", "missing"),
        Column("hours_used", "time used"),
        Column("budget_used", "% budget"),
        Column("tokens", "tokens"),
        Column("cost_usd", "cost $"),
    )
    rows = tuple(_agent_row(entry) for entry in board.entries)
    return TableView("PostTrainBench leaderboard (×100)", columns, rows, _notes(board))


def _agent_row(entry: AgentSummary) -> tuple[Value, ...]:
    complete = [run for run in entry.runs if run.average is not None]
    used = entry.budget_used
    return (
        _agent_name(entry),
        _hours(entry.hours),
        Value(len(complete), f"{len(complete)}/{len(entry.runs)}"),
        _score(entry.average, fallback=entry.fallbacks > 0, partial=not entry.complete),
        _score(entry.std),
        _score(entry.ci.low if entry.ci else None),
        _score(entry.ci.high if entry.ci else None),
        _count(entry.fallbacks),
        _reasons(entry.fallback_reasons),
        _count(len(entry.missing)),
        Value(entry.hours_used, "—" if entry.hours_used is None else f"{entry.hours_used:.2f} h"),
        Value(used, "—" if used is None else f"{100 * used:.0f}%"),
        Value(entry.tokens, "—" if entry.tokens is None else f"{entry.tokens:,}"),
        _cost(entry.cost_usd, entry.cost_trials, sum(c.results for c in entry.cells)),
    )


def _agent_name(entry: AgentSummary) -> Value:
    marks = (CUT_SHORT_MARK if entry.cut_short else "") + (
        UNISOLATED_MARK if entry.unisolated else ""
    )
    return Value(entry.agent, entry.agent + marks)


def _cost(cost: float | None, with_cost: int, trials: int) -> Value:
    """Dollars; ``(k/n)`` when only k of the n trials reported a cost."""
    if cost is None:
        return Value(None, "—")
    partial = f" ({with_cost}/{trials})" if with_cost < trials else ""
    return Value(cost, f"{cost:.2f}{partial}")


def _benchmark_columns(board: Leaderboard) -> tuple[Column, ...]:
    """A column per benchmark that has a result: empty ones are hidden."""
    present = {cell.benchmark for entry in board.entries for cell in entry.cells}
    names = [*board.benchmarks, *board.unweighted_benchmarks]
    return tuple(Column(b, b) for b in names if b in present)


def _by_benchmark(board: Leaderboard) -> TableView:
    benchmarks = _benchmark_columns(board)
    columns = (*_AGENT_COLUMNS, *benchmarks, Column("average", "average"))
    rows = []
    for entry in board.entries:
        per = {s.benchmark: s for s in entry.benchmarks}
        scores = [
            _score(
                per[b.key].score,
                fallback=per[b.key].fallbacks > 0,
                partial=per[b.key].missing_cells > 0 or bool(per[b.key].missing_models),
            )
            if b.key in per
            else _score(None, partial=b.key in board.benchmarks)
            for b in benchmarks
        ]
        average = _score(entry.average, fallback=entry.fallbacks > 0, partial=not entry.complete)
        rows.append((_agent_name(entry), _hours(entry.hours), *scores, average))
    title = "Per benchmark: mean over base models (×100)"
    return TableView(title, columns, tuple(rows), _notes(board))


def _by_model(board: Leaderboard) -> TableView:
    benchmarks = _benchmark_columns(board)
    columns = (
        *_AGENT_COLUMNS,
        Column("model", "base model", numeric=False),
        *benchmarks,
        Column("fallback_reasons", "fallback reasons", numeric=False),
    )
    rows = []
    for entry in board.entries:
        gaps = {(cell.model, cell.benchmark) for cell in entry.missing}
        for model in sorted({*board.models, *(cell.model for cell in entry.cells)}):
            cells = {c.benchmark: c for c in entry.cells if c.model == model}
            scores = [
                _score(
                    cells[b.key].score,
                    fallback=cells[b.key].fallbacks > 0,
                    partial=(model, b.key) in gaps,
                )
                if b.key in cells
                else _score(None, partial=b.key in board.benchmarks)
                for b in benchmarks
            ]
            reasons = sum((Counter(c.fallback_reasons) for c in cells.values()), Counter[str]())
            model_value = Value(model, short_model(model))
            reason_value = _reasons(dict(sorted(reasons.items())))
            rows.append(
                (_text(entry.agent), _hours(entry.hours), model_value, *scores, reason_value)
            )
    title = "Per base model: mean over replicates (×100)"
    return TableView(title, columns, tuple(rows), _notes(board))


_BUILDERS: dict[LeaderboardView, Callable[[Leaderboard], TableView]] = {
    LeaderboardView.AGENTS: _agents,
    LeaderboardView.BY_BENCHMARK: _by_benchmark,
    LeaderboardView.BY_MODEL: _by_model,
}


def records(view: TableView) -> list[dict[str, Data]]:
    """The rows as ``{column key: machine value}`` records."""
    return [
        {column.key: value.data for column, value in zip(view.columns, row, strict=True)}
        for row in view.rows
    ]
