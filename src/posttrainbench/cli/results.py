"""Commands over stored results: ``leaderboard``, ``index``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from posttrainbench.cli._app import AsJson, Experiment, RunsDir, app, console, nothing_found
from posttrainbench.errors import UserError

PANEL = "Results"


@app.command("leaderboard", rich_help_panel=PANEL)
def leaderboard_command(
    runs_dir: RunsDir = Path("runs"),
    experiment: Experiment = None,
    output: Annotated[
        str, typer.Option("--format", "-f", help="table | csv | json | md.")
    ] = "table",
    as_json: AsJson = False,
    by_model: Annotated[
        bool, typer.Option("--by-model", help="A row per agent and base model.")
    ] = False,
    by_benchmark: Annotated[
        bool, typer.Option("--by-benchmark", help="A row per agent, a column per benchmark.")
    ] = False,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights",
            dir_okay=False,
            help="JSON/TOML {benchmark: weight}; default: store baselines, else the paper's.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap CI.")] = 0,
) -> None:
    """Leaderboard as published: weighted average over benchmarks, mean ± std, 95 % CI."""
    from posttrainbench.results import (
        OutputFormat,
        ResultStore,
        aggregate,
        format_leaderboard,
        leaderboard_view_table,
        resolve_weights,
        select_view,
    )
    from posttrainbench.trial import index_path

    try:
        chosen = OutputFormat("json" if as_json else output)
    except ValueError as error:
        raise UserError(f"Unknown format '{output}': use table, csv, json or md.") from error
    results = ResultStore(index_path(runs_dir)).results(experiment)
    if not results and chosen is OutputFormat.TABLE:
        console.print(escape(nothing_found(runs_dir)))
        return
    board = aggregate(results, resolve_weights(results, weights), seed=seed)
    view = select_view(by_model=by_model, by_benchmark=by_benchmark, board=board)
    if chosen is OutputFormat.TABLE:
        console.print(leaderboard_view_table(board, view))
    else:
        typer.echo(format_leaderboard(board, chosen, view), nl=False)


@app.command(rich_help_panel=PANEL)
def index(
    runs_dir: RunsDir = Path("runs"),
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Re-create it from the run dirs.")
    ] = False,
) -> None:
    """Manage the SQLite index of the runs directory."""
    from posttrainbench.results import ResultStore
    from posttrainbench.trial import index_path, rebuild_index

    if not rebuild:
        raise UserError("Nothing to do: pass --rebuild to re-create the index from run dirs.")
    if not runs_dir.is_dir():
        raise UserError(f"{runs_dir} is not a directory.")
    count, skipped = rebuild_index(runs_dir, ResultStore(index_path(runs_dir)))
    console.print(f"indexed {count} trials from {runs_dir}")
    for line in skipped:
        console.print(f"[yellow]skipped[/yellow] {line}")
