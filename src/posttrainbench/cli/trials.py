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
    hours: Annotated[float, typer.Option(help="Time budget per trial, in hours.")] = 0.1,
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
    experiment_file: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, help="Experiment file (TOML); or use the options."
        ),
    ] = None,
    agent: Annotated[
        str | None, typer.Option(help="Agent as name or name:config, e.g. reference.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Base model: Hugging Face id or local directory.")
    ] = None,
    benchmark: Annotated[
        str | None, typer.Option(help="Benchmark id, e.g. arith or gsm8k.")
    ] = None,
    hours: Annotated[float | None, typer.Option(help="Time budget of the agent, in hours.")] = None,
    runs_dir: RunsDir = Path("runs"),
    gpus: Annotated[int, typer.Option(help="GPUs given to the agent.")] = 0,
    sandbox: Annotated[str, typer.Option(help="process | bwrap | auto.")] = "auto",
    experiment: Annotated[str, typer.Option(help="Experiment name.")] = "default",
    replicates: Annotated[int, typer.Option(min=1, help="Independent trials.")] = 1,
    wait: Annotated[
        bool, typer.Option(help="Cluster executors: watch the jobs until they finish.")
    ] = True,
    honeytokens: Annotated[
        bool,
        typer.Option(
            "--honeytokens", help="Plant decoy API keys in the agent's env; audited for use."
        ),
    ] = False,
    audit_llm_judge: Annotated[
        bool,
        typer.Option(
            "--audit-llm-judge",
            help="Also ask the LLM judge (PTB_JUDGE_* settings) about the trial in the audit.",
        ),
    ] = False,
    network: Annotated[
        str,
        typer.Option(help="The agent's network: internet | none | allow (see --allow-host)."),
    ] = "internet",
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="With --network allow: HOST, IPv4 address or CIDR, optional :PORT; repeatable.",
        ),
    ] = None,
) -> None:
    """Run (or resume) an experiment file's trials, or one trial per replicate from options."""
    if experiment_file is not None:
        from posttrainbench.cli.experiments import run_experiment_file

        run_experiment_file(experiment_file, wait=wait)
        return
    if agent is None or model is None or benchmark is None or hours is None:
        from posttrainbench.errors import UserError

        raise UserError(
            "Give an experiment file (ptb run experiment.toml) or all of --agent, --model, "
            "--benchmark and --hours."
        )
    from posttrainbench.executors import run_local
    from posttrainbench.results import leaderboard, leaderboard_table
    from posttrainbench.sandbox import NetworkPolicy
    from posttrainbench.trial import TrialSpec

    policy = NetworkPolicy.from_options(network, allow_host or ())
    name, config = split_agent(agent)
    specs = [
        TrialSpec(
            agent=name,
            agent_config=config,
            model=model,
            benchmark=benchmark,
            hours=hours,
            gpus=gpus,
            sandbox=sandbox,
            experiment=experiment,
            replicate=replicate,
            honeytokens=honeytokens,
            audit_llm_judge=audit_llm_judge,
            network=policy,
        )
        for replicate in range(1, replicates + 1)
    ]
    results = run_local(specs, runs_dir, log=log)
    console.print(leaderboard_table(leaderboard(results)))


@app.command(rich_help_panel=PANEL)
def status(
    experiment_file: Annotated[
        Path | None,
        typer.Argument(exists=True, dir_okay=False, help="Experiment file: its progress only."),
    ] = None,
    runs_dir: RunsDir = Path("runs"),
    experiment: Experiment = None,
    as_json: AsJson = False,
) -> None:
    """Show the phase each trial is in (of an experiment file: with jobs and failures)."""
    if experiment_file is not None:
        from posttrainbench.cli.experiments import show_experiment_status

        show_experiment_status(experiment_file, as_json=as_json)
        return
    from posttrainbench.results import ResultStore, status_table
    from posttrainbench.trial import index_path

    rows = ResultStore(index_path(runs_dir)).trials(experiment)
    if as_json:
        console.print_json(json.dumps([row.__dict__ for row in rows]))
    else:
        console.print(status_table(rows))
