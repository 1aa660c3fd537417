"""Experiment files on the command line: `run FILE`, `status FILE` and `cancel FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from posttrainbench.cli._app import AsJson, app, console, log

if TYPE_CHECKING:
    from posttrainbench.executors import ExperimentStatus

PANEL = "Trials"

ExperimentFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="Experiment file (TOML).")
]


def run_experiment_file(path: Path, *, wait: bool) -> None:
    """Submit or resume every trial of the experiment file and print where they stand."""
    from posttrainbench.config import load_experiment
    from posttrainbench.executors import submit_experiment

    loaded = load_experiment(path)
    specs = loaded.trial_specs()
    log(
        f"experiment '{loaded.config.name}': {len(specs)} trials on the "
        f"{loaded.config.executor.type} executor, runs in {loaded.experiment_dir}"
    )
    print_status(submit_experiment(loaded, log, wait=wait), as_json=False)


def show_experiment_status(path: Path, *, as_json: bool) -> None:
    """Print the progress of the experiment file's trials."""
    from posttrainbench.config import load_experiment
    from posttrainbench.executors import experiment_status

    print_status(experiment_status(load_experiment(path, check_names=False)), as_json=as_json)


def print_status(status: ExperimentStatus, *, as_json: bool) -> None:
    """Counts per phase and job state, then one row per trial (failures with reasons)."""
    if as_json:
        console.print_json(status.model_dump_json())
        return
    counts = ", ".join(f"{phase} {n}" for phase, n in sorted(status.phase_counts().items()))
    jobs = ", ".join(f"{state} {n}" for state, n in sorted(status.job_counts().items()))
    table = Table(
        title=f"{status.name}: {len(status.trials)} trials ({status.executor})",
        caption=f"phases: {counts}\njobs: {jobs}",
        caption_justify="left",
    )
    table.add_column("trial", overflow="fold")
    for column in ("phase", "job", "attempts", "score", "reason"):
        table.add_column(column)
    for trial in status.trials:
        table.add_row(
            trial.trial_id,
            trial.phase,
            trial.job + (f" ({trial.job_id})" if trial.job_id and trial.phase != "done" else ""),
            str(trial.attempts),
            "" if trial.score is None else f"{trial.score * 100:.1f}",
            trial.reason or "",
        )
    console.print(table)


@app.command(rich_help_panel=PANEL)
def cancel(path: ExperimentFile, as_json: AsJson = False) -> None:
    """Cancel an experiment's queued and running trials (`ptb run FILE` resumes them)."""
    from posttrainbench.config import load_experiment
    from posttrainbench.executors import cancel_experiment

    stopped = cancel_experiment(load_experiment(path, check_names=False))
    if as_json:
        console.print_json(data={"stopped": stopped})
    else:
        console.print(f"Cancelled; stopped {len(stopped)} running trial(s).")
