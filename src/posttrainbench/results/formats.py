"""Leaderboard outputs as text: CSV, JSON and Markdown (the terminal table is in render).

CSV and JSON carry machine values (scores as fractions 0..1, full precision, empty/null
when absent); Markdown and the terminal table show scores ×100 with markers (``*``
fallback applied, ``†`` partial or missing).
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum

from posttrainbench.errors import UserError
from posttrainbench.results._views import LeaderboardView, TableView, records
from posttrainbench.results.render import table_text
from posttrainbench.results.summary import Leaderboard

__all__ = [
    "OutputFormat",
    "format_leaderboard",
    "select_view",
    "to_csv",
    "to_json",
    "to_markdown",
]


class OutputFormat(StrEnum):
    """How ``ptb leaderboard`` prints."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    MD = "md"


def select_view(
    *, by_model: bool, by_benchmark: bool, board: Leaderboard | None = None
) -> LeaderboardView:
    """The view that the ``--by-model`` / ``--by-benchmark`` flags ask for.

    Without a flag, the agents view (the published leaderboard), unless no agent of
    ``board`` has a weighted average (e.g. only the toy ``arith`` ran): then the
    per-benchmark view, which shows the scores that exist.

    Raises:
        UserError: Both flags are set.
    """
    if by_model and by_benchmark:
        raise UserError("Pass --by-model or --by-benchmark, not both.")
    if by_model:
        return LeaderboardView.BY_MODEL
    if by_benchmark:
        return LeaderboardView.BY_BENCHMARK
    if board is not None and all(entry.average is None for entry in board.entries):
        return LeaderboardView.BY_BENCHMARK
    return LeaderboardView.AGENTS


def to_csv(board: Leaderboard, view: LeaderboardView = LeaderboardView.AGENTS) -> str:
    """One header row of column keys, then one row per table row (machine values)."""
    table = TableView.of(board, view)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.key for column in table.columns])
    for row in table.rows:
        writer.writerow(["" if value.data is None else value.data for value in row])
    return buffer.getvalue()


def to_json(board: Leaderboard, view: LeaderboardView = LeaderboardView.AGENTS) -> str:
    """The view's rows as records, with the weights, the grid and the full aggregation.

    ``rows`` holds the table's records; ``leaderboard`` the complete
    :class:`~posttrainbench.results.aggregate.Leaderboard` (runs, cells, missing cells).
    """
    document = {
        "view": view.value,
        "rows": records(TableView.of(board, view)),
        "leaderboard": board.model_dump(mode="json"),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_markdown(board: Leaderboard, view: LeaderboardView = LeaderboardView.AGENTS) -> str:
    """A GitHub-flavoured Markdown table (×100, with markers) followed by its notes."""
    table = TableView.of(board, view)
    lines = [
        f"**{table.title}**",
        "",
        _md_row([column.title for column in table.columns]),
        _md_row(["---:" if column.numeric else "---" for column in table.columns]),
        *(_md_row([value.text for value in row]) for row in table.rows),
    ]
    if table.notes:
        lines += ["", *(f"{_md_escape(note)}  " for note in table.notes)]
    return "\n".join(lines) + "\n"


def format_leaderboard(
    board: Leaderboard,
    output: OutputFormat,
    view: LeaderboardView = LeaderboardView.AGENTS,
) -> str:
    """The leaderboard as text in ``output`` format (``table``: plain-text rich table)."""
    if output is OutputFormat.TABLE:
        return table_text(board, view)
    writers = {OutputFormat.CSV: to_csv, OutputFormat.JSON: to_json, OutputFormat.MD: to_markdown}
    return writers[output](board, view)


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("|", "\\|")


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(_md_escape(cell) for cell in cells) + " |"
