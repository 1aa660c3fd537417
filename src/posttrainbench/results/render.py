"""Terminal rendering of leaderboards and trial status (rich tables)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from posttrainbench.results._views import LeaderboardView, TableView, short_model
from posttrainbench.results.leaderboard import LeaderboardRow
from posttrainbench.results.store import TrialRow
from posttrainbench.results.summary import Leaderboard

__all__ = ["leaderboard_table", "leaderboard_view_table", "status_table", "table_text"]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def leaderboard_table(rows: Sequence[LeaderboardRow]) -> Table:
    """Scores ×100; a ``*`` marks cells where a fallback to the base score applied."""
    table = Table(title="PostTrainBench leaderboard (scores ×100)")
    for column in ("benchmark", "agent", "base model", "budget", "n", "score", "± std", "raw"):
        table.add_column(
            column, justify="right" if column in {"n", "score", "± std", "raw"} else "left"
        )
    for row in rows:
        marker = "*" if row.fallbacks else ""
        table.add_row(
            row.benchmark,
            row.agent,
            short_model(row.model),
            f"{row.hours:g} h",
            str(row.replicates),
            _pct(row.score) + marker,
            _pct(row.std),
            _pct(row.raw_score),
        )
    if any(row.fallbacks for row in rows):
        table.caption = "* includes replicates scored with the base model's score (fallback)"
    return table


def status_table(rows: Sequence[TrialRow]) -> Table:
    """Where each trial is."""
    table = Table(title="Trials")
    for column in ("experiment", "trial", "phase", "updated"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.experiment, row.trial_id, row.phase, row.updated_at[:19])
    return table


def leaderboard_view_table(
    board: Leaderboard, view: LeaderboardView = LeaderboardView.AGENTS
) -> Table:
    """The aggregated leaderboard (×100, with markers) in ``view``, notes as caption."""
    data = TableView.of(board, view)
    table = Table(title=data.title, caption="\n".join(data.notes), caption_justify="left")
    for column in data.columns:
        table.add_column(column.title, justify="right" if column.numeric else "left")
    for row in data.rows:
        table.add_row(*(value.text for value in row))
    return table


def table_text(board: Leaderboard, view: LeaderboardView = LeaderboardView.AGENTS) -> str:
    """:func:`leaderboard_view_table` as plain text (no colours), for files and pipes."""
    console = Console(file=io.StringIO(), width=200, color_system=None, record=True)
    console.print(leaderboard_view_table(board, view))
    return console.export_text()
