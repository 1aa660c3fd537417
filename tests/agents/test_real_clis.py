"""End to end with the REAL agent CLIs (from npm) against a scripted model server on loopback.

Each CLI runs a whole trial's agent part in the real sandbox: it gets the prompt, runs
``bash task/timer.sh``, copies the base model to ``final_model/``, ends, and is resumed
once (continue-until-budget) through its own resume mechanism. The trial stops itself
after collect (a failpoint), so the test does not depend on evaluation.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from posttrainbench.agents import SCAFFOLDS
from posttrainbench.agents.install import find_binary, install_cli, npm_prefix
from posttrainbench.errors import UserError
from posttrainbench.testing import FakeAgentServer
from posttrainbench.trial import TrialPaths, TrialSpec, trial_dir

pytestmark = pytest.mark.slow

DUMMY_KEY = "sk-dummy-e2e-key-0123456789abcdef"


def ensure_cli(name: str) -> None:
    scaffold = SCAFFOLDS[name]
    if find_binary(scaffold.binary, npm_prefix()) is not None:
        return
    try:
        install_cli(scaffold.npm_package, scaffold.npm_version)
    except UserError as error:
        pytest.skip(f"cannot install {scaffold.npm_package}: {error}")


def run_trial(name: str, config: str, key: str, tiny_model: Path, runs_root: Path) -> TrialPaths:
    spec = TrialSpec(
        agent=name, agent_config=config, model=str(tiny_model), benchmark="arith-mini", hours=0.1
    )
    env = {**os.environ, key: DUMMY_KEY, "PTB_FAILPOINTS": "audit.start"}
    argv = [sys.executable, "-m", "posttrainbench.cli", "run", "--agent", f"{name}:{config}"]
    argv += ["--model", spec.model, "--benchmark", spec.benchmark, "--hours", "0.1"]
    # The scripted model server listens on the host's loopback, which every isolated network
    # mode keeps an agent from; the unisolated backend, named explicitly, shares it.
    argv += ["--runs-dir", str(runs_root), "--sandbox", "process"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=400, check=False)
    paths = TrialPaths(trial_dir(runs_root, spec))
    raw = paths.raw_stream.read_text() if paths.raw_stream.exists() else "(no raw stream)"
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr + raw[-4000:]
    return paths


def check_trial(
    paths: TrialPaths, server: FakeAgentServer, prompt_marker: str
) -> dict[str, object]:
    outcome = json.loads(paths.solve_outcome.read_text())
    assert outcome["outcome"] == "exited" and outcome["resumes"] == 1
    assert json.loads(paths.submission.read_text())["present"] is True
    assert (paths.final_model / "config.json").is_file()
    # The model server saw the prompt (the CLI read it from stdin) and the resume message.
    bodies = json.dumps(server.requests)
    assert prompt_marker in bodies and "Time remains in your budget" in bodies
    assert DUMMY_KEY not in paths.raw_stream.read_text() + paths.trace.read_text()
    trace: dict[str, object] = json.loads(paths.trace.read_text())
    return trace


def commands_of(trace: dict[str, object]) -> list[str]:
    steps = trace["steps"]
    assert isinstance(steps, list)
    return [
        str(call["arguments"].get("command"))
        for step in steps
        for call in step.get("tool_calls", [])
    ]


def resumes_of(trace: dict[str, object]) -> int:
    steps = trace["steps"]
    assert isinstance(steps, list)
    return sum(1 for step in steps if step.get("extra", {}).get("kind") == "resume")


def prompt_marker(paths: TrialPaths) -> str:
    return paths.prompt.read_text().strip().splitlines()[0][:40]


@pytest.mark.timeout(600)
def test_claude_code_real_cli(tiny_model: Path, runs_root: Path) -> None:
    ensure_cli("claude-code")
    commands = ["bash task/timer.sh", f"cp -r {tiny_model} final_model"]
    with FakeAgentServer(commands) as server:
        config = f"claude-sonnet-4-5?base_url={server.url}&continue=0&max_resumes=1"
        paths = run_trial("claude-code", config, "ANTHROPIC_API_KEY", tiny_model, runs_root)
        trace = check_trial(paths, server, prompt_marker(paths))
    assert commands_of(trace) == commands
    assert resumes_of(trace) == 1
    agent = trace["agent"]
    assert isinstance(agent, dict) and agent["version"] == SCAFFOLDS["claude-code"].npm_version
    totals = trace["final_metrics"]
    assert isinstance(totals, dict) and totals["total_cost_usd"] > 0
    assert totals["extra"]["cost_source"] == "stream"


@pytest.mark.timeout(600)
def test_codex_real_cli(tiny_model: Path, runs_root: Path) -> None:
    ensure_cli("codex")
    commands = ["bash task/timer.sh", f"cp -r {tiny_model} final_model"]
    with FakeAgentServer(commands) as server:
        config = f"gpt-5.2?effort=high&base_url={server.url}/v1&continue=0&max_resumes=1"
        paths = run_trial("codex", config, "OPENAI_API_KEY", tiny_model, runs_root)
        trace = check_trial(paths, server, prompt_marker(paths))
    ran = commands_of(trace)
    assert len(ran) == 2
    assert all(command in shell for command, shell in zip(commands, ran, strict=True))
    assert resumes_of(trace) == 1
    assert any(body.get("reasoning", {}).get("effort") == "high" for body in server.requests)
    totals = trace["final_metrics"]
    assert isinstance(totals, dict) and totals["total_prompt_tokens"] > 0
    assert totals["extra"]["cost_source"] == "price_table"


@pytest.mark.timeout(600)
def test_gemini_cli_real_cli(tiny_model: Path, runs_root: Path) -> None:
    ensure_cli("gemini-cli")
    commands = ["bash task/timer.sh", f"cp -r {tiny_model} final_model"]
    with FakeAgentServer(commands) as server:
        config = f"gemini-2.5-pro?base_url={server.url}&continue=0&max_resumes=1"
        paths = run_trial("gemini-cli", config, "GEMINI_API_KEY", tiny_model, runs_root)
        trace = check_trial(paths, server, prompt_marker(paths))
    assert commands_of(trace) == commands
    assert resumes_of(trace) == 1
    totals = trace["final_metrics"]
    assert isinstance(totals, dict) and totals["total_prompt_tokens"] > 0


@pytest.mark.timeout(600)
def test_opencode_real_cli(tiny_model: Path, runs_root: Path) -> None:
    ensure_cli("opencode")
    commands = ["bash task/timer.sh", f"cp -r {tiny_model} final_model"]
    with FakeAgentServer(commands) as server:
        config = f"anthropic/claude-sonnet-4-5?base_url={server.url}/v1&continue=0&max_resumes=1"
        paths = run_trial("opencode", config, "ANTHROPIC_API_KEY", tiny_model, runs_root)
        trace = check_trial(paths, server, prompt_marker(paths))
    assert commands_of(trace) == commands
    assert resumes_of(trace) == 1
    totals = trace["final_metrics"]
    assert isinstance(totals, dict) and totals["total_cost_usd"] > 0
    assert totals["extra"]["cost_source"] == "stream"
