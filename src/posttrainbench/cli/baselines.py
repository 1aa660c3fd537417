"""``ptb baseline``: the leaderboard's reference rows (base zero-shot, few-shot, instruct)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from posttrainbench.cli._app import RunsDir, app, console, log

PANEL = "Trials"


@app.command(rich_help_panel=PANEL)
def baseline(
    kind: Annotated[str, typer.Argument(help="zero-shot | few-shot | instruct.")],
    model: Annotated[
        list[str], typer.Option("--model", help="Base model (HF id or directory); repeatable.")
    ],
    benchmark: Annotated[
        list[str] | None,
        typer.Option("--benchmark", help="Benchmark id; repeatable (default: all non-toy ones)."),
    ] = None,
    instruct_model: Annotated[
        str,
        typer.Option(help="instruct: the model to submit (default: the catalog's counterpart)."),
    ] = "",
    runs_dir: RunsDir = Path("runs"),
    experiment: Annotated[str, typer.Option(help="Experiment name.")] = "baselines",
    sandbox: Annotated[str, typer.Option(help="process | bwrap | auto.")] = "auto",
) -> None:
    """Score base models zero-shot or few-shot, or their instruct counterparts.

    Results are stored as trials of the agents ``baseline-zero-shot``, ``baseline-few-shot``
    and ``baseline-instruct``: the leaderboard shows them as reference rows and takes its
    benchmark weights from the zero-shot and instruct rows. Few-shot examples come from each
    benchmark's allowed training data (fixed seed); benchmarks without any are skipped. The
    instruct row is beyond the budget: a reference point, not an achievable score.
    """
    from posttrainbench.benchmarks import BENCHMARKS, get_benchmark
    from posttrainbench.executors.baselines import run_baselines
    from posttrainbench.results import leaderboard, leaderboard_table

    benchmarks = benchmark or [b for b in BENCHMARKS.names() if not get_benchmark(b).toy]
    outcome = run_baselines(
        kind,
        model,
        benchmarks,
        runs_dir,
        instruct_model=instruct_model,
        experiment=experiment,
        sandbox=sandbox,
        log=log,
    )
    for name, reason in outcome.skipped.items():
        console.print(f"[yellow]skipped[/yellow] {name}: {reason}")
    if outcome.results:
        console.print(leaderboard_table(leaderboard(outcome.results)))
