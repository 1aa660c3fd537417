"""Commands about agents: ``trace show``, ``doctor``, ``agents install``, ``agents list``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from posttrainbench.cli._app import AsJson, RunsDir, app, console, log
from posttrainbench.errors import UserError
from posttrainbench.runs import RunsLayout

if TYPE_CHECKING:
    from posttrainbench.agents.trace import Trajectory

PANEL = "Agents"

trace_app = typer.Typer(
    help="Agent traces: the normalised transcript of a trial.", no_args_is_help=True
)
agents_app = typer.Typer(help="Agent CLIs: install them at pinned versions.", no_args_is_help=True)
app.add_typer(trace_app, name="trace", rich_help_panel=PANEL)
app.add_typer(agents_app, name="agents", rich_help_panel=PANEL)


def load_trace(root: Path) -> Trajectory:
    """The trial's trace: ``agent/trace.json``, or parsed now from ``agent/raw.jsonl``."""
    from posttrainbench.agents import get_agent
    from posttrainbench.agents.session import trace_of
    from posttrainbench.agents.trace import Trajectory
    from posttrainbench.trial import TrialPaths

    paths = TrialPaths(root)
    if paths.trace.is_file():
        return Trajectory.model_validate_json(paths.trace.read_text())
    if not paths.raw_stream.is_file():
        raise UserError(f"{root} has no agent output yet (the agent has not run).")
    spec = json.loads(paths.trial_json.read_text())["spec"]
    agent = get_agent(spec["agent"], spec.get("agent_config", ""))
    return trace_of(agent, spec["agent"], paths.raw_stream)


@trace_app.command("show")
def trace_show(
    trial: Annotated[str, typer.Argument(help="Trial id (or its prefix) or run directory.")],
    runs_dir: RunsDir = Path("runs"),
    as_json: AsJson = False,
    limit: Annotated[int, typer.Option(help="Characters shown per message or output.")] = 2000,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep showing new steps until the agent ends.")
    ] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks with --follow.")] = 1.0,
) -> None:
    """Show an agent's transcript: messages, reasoning, tool calls, outputs, usage, cost."""
    from posttrainbench.agents.render import transcript

    root = RunsLayout(runs_dir).find_trial(trial)
    if follow:
        _follow_trace(root, limit, poll)
        return
    trace = load_trace(root)
    if as_json:
        typer.echo(trace.model_dump_json(indent=2, exclude_none=True))
        return
    for renderable in transcript(trace, limit):
        console.print(renderable)


def _follow_trace(root: Path, limit: int, poll_s: float) -> None:
    """Print the steps of a running trial as they come, until its agent has ended."""
    import time

    from posttrainbench.agents.render import render_step
    from posttrainbench.trial import TrialPaths

    paths, shown = TrialPaths(root), 0
    console.print(f"following {escape(str(root))} (Ctrl-C to stop)")
    while True:
        ended = paths.solve_outcome.is_file()  # read before the stream: no step is missed
        if paths.raw_stream.is_file() or paths.trace.is_file():
            steps = load_trace(root).steps
            for step in steps[shown:]:
                console.print(render_step(step, limit))
            shown = max(shown, len(steps))
        if ended:
            console.print(f"the agent has ended ({shown} steps)")
            return
        time.sleep(poll_s)


@agents_app.command("install")
def agents_install(
    names: Annotated[
        list[str], typer.Argument(help="Scaffolds: claude-code, codex, gemini-cli, opencode, all.")
    ],
    prefix: Annotated[
        Path | None,
        typer.Option(help="npm prefix (default ~/.cache/posttrainbench/npm; env PTB_NPM_PREFIX)."),
    ] = None,
) -> None:
    """Install agent CLIs from npm at the harness's pinned versions."""
    from posttrainbench.agents import SCAFFOLDS
    from posttrainbench.agents.install import cli_version, find_binary, install_cli

    wanted = list(SCAFFOLDS) if "all" in names else names
    unknown = [name for name in wanted if name not in SCAFFOLDS]
    if unknown:
        raise UserError(
            f"Unknown agent CLI {', '.join(unknown)}; known: {', '.join(SCAFFOLDS)}, all."
        )
    for name in wanted:
        scaffold = SCAFFOLDS[name]
        log(f"installing {scaffold.npm_package}@{scaffold.npm_version}")
        root = install_cli(
            scaffold.npm_package, scaffold.npm_version, prefix.absolute() if prefix else None
        )
        binary = find_binary(scaffold.binary, root)
        version = cli_version(binary) if binary else None
        log(f"{name}: {binary} ({version or 'does not run'})")
    if prefix:
        log(f"point the harness at it: export PTB_NPM_PREFIX={prefix.absolute()}")


@agents_app.command("list")
def agents_list() -> None:
    """The agent scaffolds, their CLIs and pinned versions."""
    from posttrainbench.agents import AGENTS, SCAFFOLDS

    for name in AGENTS.names():
        scaffold = SCAFFOLDS.get(name)
        pinned = f"  ({scaffold.npm_package}@{scaffold.npm_version})" if scaffold else ""
        console.print(f"{escape(name)}{escape(pinned)}")


def doctor_report() -> dict[str, Any]:
    """What is ready on this host: agent CLIs, keys (set or not), sandboxes, GPUs, data."""
    from posttrainbench.agents import SCAFFOLDS
    from posttrainbench.agents.install import cli_version, find_binary
    from posttrainbench.sandbox.limits import limit_mechanism
    from posttrainbench.sandbox.registry import SANDBOXES, get_sandbox

    clis = []
    for name, scaffold in SCAFFOLDS.items():
        binary = find_binary(scaffold.binary)
        clis.append(
            {
                "agent": name,
                "binary": str(binary) if binary else None,
                "version": cli_version(binary) if binary else None,
                "pinned": scaffold.npm_version,
            }
        )
    keys = sorted({key for s in SCAFFOLDS.values() for mode in s.auth for key in mode.env_any})
    keys += ["CLAUDE_CODE_OAUTH_TOKEN"] if "CLAUDE_CODE_OAUTH_TOKEN" not in keys else []
    codex_auth = Path(os.environ.get("CODEX_HOME", Path.home() / ".codex")) / "auth.json"
    sandboxes = []
    for name in SANDBOXES.names():
        try:
            reason = get_sandbox(name).unavailable_reason()
        except UserError as error:
            reason = str(error)
        sandboxes.append({"sandbox": name, "works": reason is None, "reason": reason})
    return {
        "agent_clis": clis,
        "keys": {key: bool(os.environ.get(key)) for key in sorted(keys)},
        "codex_auth_json": codex_auth.is_file(),
        "sandboxes": sandboxes,
        "limits": limit_mechanism(),
        "network": _network(),
        "gpus": _gpus(),
        "datasets": _datasets(),
    }


def _network() -> dict[str, Any]:
    """The agent network's host tools, and whether the policies other than 'none' can run."""
    from posttrainbench.sandbox import network_tools

    tools = network_tools()
    reason = tools.unavailable_reason()
    return {
        "stack": "slirp4netns",
        "tools": tools.found,
        # pasta (passt) is the other user-mode stack that blocks host loopback; reported
        # for hosts that have only it, not used by the harness yet.
        "pasta": shutil.which("pasta") or shutil.which("pasta", path="/usr/bin:/usr/sbin"),
        "policies": {"none": True, "internet": reason is None, "allow": reason is None},
        "reason": reason,
    }


def _gpus() -> list[str]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        done = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in done.stdout.splitlines() if line.strip()]


def _datasets() -> list[dict[str, Any]]:
    from posttrainbench.benchmarks import BENCHMARKS, get_benchmark

    rows = []
    for name in BENCHMARKS.names():
        try:
            sources = getattr(get_benchmark(name), "data_sources", ())
            for source in sources:
                status = source.status()
                rows.append(
                    {"benchmark": name, "source": status.source, "cached": status.available}
                )
        except Exception as error:  # noqa: BLE001 - doctor reports, never crashes
            rows.append({"benchmark": name, "source": "?", "cached": False, "error": str(error)})
    return rows


def _mark(ok: bool) -> str:
    return "[green]✓[/green]" if ok else "[red]✗[/red]"


@app.command(rich_help_panel=PANEL)
def doctor(as_json: AsJson = False) -> None:
    """Check this host: agent CLIs and versions, keys set (never shown), sandboxes, GPUs, data."""
    report = doctor_report()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    console.print("[bold]Agent CLIs[/bold]")
    for cli in report["agent_clis"]:
        where = f"{cli['version']} at {cli['binary']}" if cli["binary"] else "not installed"
        hint = "" if cli["binary"] else f" — ptb agents install {cli['agent']}"
        console.print(
            f"  {_mark(bool(cli['binary']))} {cli['agent']}: {escape(str(where))}{hint}"
            f" (pinned {cli['pinned']})"
        )
    console.print("[bold]Keys[/bold] (values never shown)")
    for key, present in report["keys"].items():
        console.print(f"  {_mark(present)} {key} {'set' if present else 'unset'}")
    console.print(f"  {_mark(report['codex_auth_json'])} Codex subscription auth.json")
    console.print("[bold]Sandboxes[/bold]")
    for box in report["sandboxes"]:
        console.print(
            f"  {_mark(box['works'])} {box['sandbox']}"
            + (f": {escape(box['reason'])}" if box["reason"] else "")
        )
    limits = report["limits"]
    console.print(f"[bold]Limits[/bold] (memory, processes, disk): enforced by {limits}")
    if limits == "rlimits":
        console.print("  per-process only; run as root with cgroups mounted for whole-tree limits")
    network = report["network"]
    console.print(f"[bold]Agent network[/bold] (stack: {network['stack']})")
    for tool, path in network["tools"].items():
        console.print(f"  {_mark(path is not None)} {tool}: {escape(str(path or 'not found'))}")
    pasta = network["pasta"]
    console.print(f"  {_mark(pasta is not None)} pasta (alternative stack, unused): {pasta}")
    works = ", ".join(mode for mode, ok in network["policies"].items() if ok)
    console.print(f"  policies that run here: {works}")
    if network["reason"]:
        console.print(f"  [red]internet/allow:[/red] {escape(network['reason'])}")
    console.print("[bold]GPUs[/bold]")
    console.print("  " + ("\n  ".join(map(escape, report["gpus"])) if report["gpus"] else "none"))
    console.print("[bold]Datasets[/bold]")
    for row in report["datasets"]:
        console.print(f"  {_mark(row['cached'])} {row['benchmark']}: {escape(row['source'])}")
    if not report["datasets"]:
        console.print("  (no benchmark reads external data)")
