"""``ptb export``: trials and tasks in the layouts of Harbor's trial and task directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from posttrainbench.cli._app import RunsDir, app, console

PANEL = "Results"

export_app = typer.Typer(help="Export trials to other tools' formats.", no_args_is_help=True)
app.add_typer(export_app, name="export", rich_help_panel=PANEL)


@export_app.command("harbor")
def export_harbor(
    target: Annotated[
        str,
        typer.Argument(help="Trial id (or prefix), experiment name, or run/experiment folder."),
    ],
    out: Annotated[Path, typer.Argument(help="Output folder: one Harbor trial folder each.")],
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Write trials as Harbor trial folders: ATIF trajectory, reward, result, instruction."""
    from posttrainbench.runs import RunsLayout
    from posttrainbench.trial.harbor import export_trial

    for trial_dir in RunsLayout(runs_dir).select(target):
        written = export_trial(trial_dir, out)
        console.print(f"{trial_dir.name} -> {written}")


@export_app.command("harbor-tasks")
def export_harbor_tasks(
    out: Annotated[Path, typer.Argument(help="Output folder: one Harbor task folder each.")],
    models: Annotated[
        list[str], typer.Option("--model", help="Base model (HF id or local folder); repeatable.")
    ],
    benchmarks: Annotated[list[str], typer.Option("--benchmark", help="Benchmark id; repeatable.")],
    hours: Annotated[float, typer.Option("--hours", help="The agent's time budget.")],
    gpus: Annotated[int, typer.Option("--gpus", help="GPUs the task asks for.")] = 1,
) -> None:
    """Write each (model, benchmark) as a Harbor task: instruction, task.toml, image, verifier."""
    from posttrainbench.trial.harbor_tasks import export_task

    for model in models:
        for benchmark in benchmarks:
            written = export_task(model, benchmark, hours, gpus, out)
            console.print(f"{model} x {benchmark} -> {written}")
