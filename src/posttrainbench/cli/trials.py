"""Commands that run trials: ``demo``, ``run``, ``status``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from posttrainbench.cli._app import AsJson, Experiment, RunsDir, app, console, log, split_agent

PANEL = "Trials"


@app.command(rich_help_panel=PANEL)
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

    results = run_demo(out, hours=hours, sandbox=sandbox, log=log)
    console.print(leaderboard_table(leaderboard(results)))
    console.print(f"Run directories: {out / 'runs'}")


@app.command(rich_help_panel=PANEL)
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

    name, config = split_agent(agent)
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
    results = run_local(specs, runs_dir, log=log)
    console.print(leaderboard_table(leaderboard(results)))


@app.command(rich_help_panel=PANEL)
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
