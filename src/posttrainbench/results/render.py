"""Terminal rendering of leaderboards and trial status (rich tables)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from posttrainbench.results.leaderboard import LeaderboardRow
from posttrainbench.results.store import TrialRow

__all__ = ["leaderboard_table", "status_table"]


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
            row.model.rstrip("/").split("/")[-1],
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
