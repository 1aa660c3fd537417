"""``ptb``: the command line, a thin layer over the Python API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from posttrainbench.errors import UserError

__all__ = ["app", "main"]

app = typer.Typer(
    name="ptb",
    help="PostTrainBench: can an LLM agent post-train a base model on its own?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

RunsDir = Annotated[
    Path,
    typer.Option(
        "--runs-dir",
        envvar="PTB_RUNS_DIR",
        help="Folder holding run directories and the index (env PTB_RUNS_DIR).",
    ),
]
Experiment = Annotated[str | None, typer.Option("--experiment", "-e", help="Only this experiment.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _log(message: str) -> None:
    console.print(f"[dim]•[/dim] {escape(message)}")


def _split_agent(agent: str) -> tuple[str, str]:
    name, _, config = agent.partition(":")
    return name, config


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the tiny model and the runs go.")] = Path(
        "ptb-demo"
    ),
    hours: Annotated[float, typer.Option(help="Time budget per trial, in hours.")] = 0.05,
    sandbox: Annotated[str, typer.Option(help="process | bwrap | auto.")] = "auto",
) -> None:
    """Run the CPU demo: a tiny base model, the noop and reference agents on 'arith'."""
    from posttrainbench.demo import run_demo
    from posttrainbench.results import leaderboard, leaderboard_table

    results = run_demo(out, hours=hours, sandbox=sandbox, log=_log)
    console.print(leaderboard_table(leaderboard(results)))
    console.print(f"Run directories: {out / 'runs'}")


@app.command()
def run(
    agent: Annotated[str, typer.Option(help="Agent as name or name:config, e.g. reference.")],
    model: Annotated[str, typer.Option(help="Base model: Hugging Face id or local directory.")],
    benchmark: Annotated[str, typer.Option(help="Benchmark id, e.g. arith or gsm8k.")],
    hours: Annotated[float, typer.Option(help="Time budget of the agent, in hours.")],
    runs_dir: RunsDir = Path("runs"),
    gpus: Annotated[int, typer.Option(help="GPUs given to the agent.")] = 0,
    sandbox: Annotated[str, typer.Option(help="process | bwrap | auto.")] = "auto",
    experiment: Annotated[str, typer.Option(help="Experiment name.")] = "default",
    replicates: Annotated[int, typer.Option(min=1, help="Independent trials.")] = 1,
) -> None:
    """Run (or resume) one trial per replicate and print their scores."""
    from posttrainbench.executors import run_local
    from posttrainbench.results import leaderboard, leaderboard_table
    from posttrainbench.trial import TrialSpec

    name, config = _split_agent(agent)
    specs = [
        TrialSpec(
            agent=name,
            agent_config=config,
            model=str(Path(model).resolve()) if Path(model).is_dir() else model,
            benchmark=benchmark,
            hours=hours,
            gpus=gpus,
            sandbox=sandbox,
            experiment=experiment,
            replicate=replicate,
        )
        for replicate in range(1, replicates + 1)
    ]
    results = run_local(specs, runs_dir, log=_log)
    console.print(leaderboard_table(leaderboard(results)))


@app.command()
def status(
    runs_dir: RunsDir = Path("runs"), experiment: Experiment = None, as_json: AsJson = False
) -> None:
    """Show the phase each trial is in."""
    from posttrainbench.results import ResultStore, status_table
    from posttrainbench.trial import index_path

    rows = ResultStore(index_path(runs_dir)).trials(experiment)
    if as_json:
        console.print_json(json.dumps([row.__dict__ for row in rows]))
    else:
        console.print(status_table(rows))


@app.command("leaderboard")
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
    board = aggregate(results, resolve_weights(results, weights), seed=seed)
    view = select_view(by_model=by_model, by_benchmark=by_benchmark, board=board)
    if chosen is OutputFormat.TABLE:
        console.print(leaderboard_view_table(board, view))
    else:
        typer.echo(format_leaderboard(board, chosen, view), nl=False)


@app.command()
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


def main() -> None:
    """Entry point: user errors become one clear message and exit code 2."""
    try:
        app()
    except UserError as error:
        err_console.print(f"[bold red]Error:[/bold red] {error}")
        sys.exit(2)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        err_console.print(f"[bold red]Error:[/bold red] invalid trial options: {problems}")
        sys.exit(2)


if __name__ == "__main__":
    main()
