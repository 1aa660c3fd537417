"""Commands that run trials: ``demo``, ``run``, ``status``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from posttrainbench.cli._app import (
    AsJson,
    Experiment,
    RunsDir,
    app,
    console,
    log,
    nothing_found,
    split_agent,
)
from posttrainbench.sandbox.registry import SANDBOXES

PANEL = "Trials"
SANDBOX_HELP = f"auto | {' | '.join(SANDBOXES.names())} (or module:Class)."
"""Every registered sandbox, so that --help lists what the README lists."""


@app.command(rich_help_panel=PANEL)
def demo(
    runs_dir: RunsDir = Path("runs"),
    hours: Annotated[
        float, typer.Option(help="Safety cap on each trial's time, in hours (the work is fixed).")
    ] = 0.5,
    sandbox: Annotated[str, typer.Option(help=SANDBOX_HELP)] = "auto",
) -> None:
    """Run the CPU demo: a tiny base model, the noop and reference agents on 'arith'."""
    from posttrainbench.demo import follow_up_commands, run_demo
    from posttrainbench.results import (
        LeaderboardView,
        aggregate,
        leaderboard_view_table,
        resolve_weights,
    )

    done = run_demo(runs_dir, hours=hours, sandbox=sandbox, log=log)
    board = aggregate(done.results, resolve_weights(done.results))
    console.print(leaderboard_view_table(board, LeaderboardView.AGENTS))
    if done.reused:
        console.print(
            f"{len(done.reused)} of {len(done.results)} trials were already done: their "
            f"recorded results are shown (delete {escape(str(runs_dir / 'demo'))} to run "
            "them again)."
        )
    for result in done.results:
        if result.cut_short:
            console.print(
                f"[yellow]cut short[/yellow] {escape(result.trial_id)}: "
                f"{escape(result.cut_short)} (a slow or busy machine: see `ptb trace show`)"
            )
    console.print(f"Results are in {escape(str(runs_dir.absolute()))}. Next, try:")
    for command in follow_up_commands(runs_dir, done.results):
        console.print(f"  {escape(command)}", soft_wrap=True)


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
    sandbox: Annotated[str, typer.Option(help=SANDBOX_HELP)] = "auto",
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
    protocol: Annotated[
        str,
        typer.Option(help="Final-evaluation protocol: paper (upstream's seeds) or greedy."),
    ] = "paper",
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
    from posttrainbench.executors import run_trials
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
            protocol=_protocol(protocol),
        )
        for replicate in range(1, replicates + 1)
    ]
    results = run_trials(specs, runs_dir, log=log)
    console.print(leaderboard_table(leaderboard(results)))


def _protocol(value: str) -> Literal["paper", "greedy"]:
    if value not in ("paper", "greedy"):
        from posttrainbench.errors import UserError

        raise UserError(f"--protocol {value!r}: use paper or greedy.")
    return "paper" if value == "paper" else "greedy"


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
    if not rows and not as_json:
        console.print(escape(nothing_found(runs_dir, "trials")))
        return
    if as_json:
        console.print_json(json.dumps([row.__dict__ for row in rows]))
    else:
        console.print(status_table(rows))
