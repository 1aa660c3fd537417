"""A trial SIGKILLed anywhere and re-run finishes with nothing lost or duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posttrainbench.testing.crashes import run_worker_until
from posttrainbench.trial import PHASES, EventLog, TrialPaths, TrialRunner, TrialSpec, trial_dir

FAILPOINTS = [f"{phase.value}.{where}" for phase in PHASES for where in ("start", "before_end")]


def ptb_run(
    runs_root: Path, model: Path, *, agent: str, hours: float = 0.05
) -> subprocess.Popen[str]:
    env = {**os.environ, "PTB_FAILPOINTS": ""}
    argv = [
        sys.executable,
        "-m",
        "posttrainbench.cli",
        "run",
        "--agent",
        agent,
        "--model",
        str(model),
        "--benchmark",
        "arith-mini",
        "--hours",
        str(hours),
        "--runs-dir",
        str(runs_root),
    ]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(process: subprocess.Popen[str]) -> int:
    output, _ = process.communicate(timeout=300)
    print(output)
    return process.returncode


def spec_for(model: Path, agent: str = "noop") -> TrialSpec:
    name, _, config = agent.partition(":")
    return TrialSpec(
        agent=name, agent_config=config, model=str(model), benchmark="arith-mini", hours=0.05
    )


def paths_for(runs_root: Path, model: Path, agent: str = "noop") -> TrialPaths:
    return TrialPaths(trial_dir(runs_root, spec_for(model, agent)))


@pytest.fixture(scope="module")
def uninterrupted(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    runs_root = tmp_path_factory.mktemp("clean-runs")
    TrialRunner(spec_for(tiny_model), runs_root, log=lambda _: None).run()
    result: dict[str, object] = json.loads(paths_for(runs_root, tiny_model).result.read_text())
    return result


@pytest.mark.parametrize("point", FAILPOINTS)
def test_sigkill_at_any_phase_then_resume_loses_and_repeats_nothing(
    point: str, tiny_model: Path, runs_root: Path, uninterrupted: dict[str, object]
) -> None:
    # Killed in a worker process (a real SIGKILL), resumed by a harness that was not.
    spec = spec_for(tiny_model)
    crashed = run_worker_until(point, runs_root, spec)
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    paths = paths_for(runs_root, tiny_model)
    evaluated_before = (
        paths.eval_outcome.stat().st_mtime_ns if paths.eval_outcome.exists() else None
    )

    TrialRunner(spec, runs_root, log=lambda _: None).run()

    result = json.loads(paths.result.read_text())
    for key in ("score", "raw_score", "fallback_reason", "solve_outcome", "audit_verdict"):
        assert result[key] == uninterrupted[key], key
    events = EventLog(paths.events)
    ends = [r.phase for r in events.records() if r.event == "end"]
    assert ends == [phase.value for phase in PHASES]  # each phase ended exactly once, in order
    killed_phase = point.split(".")[0]
    for phase in PHASES:
        assert events.attempts(phase) == (2 if phase.value == killed_phase else 1)
    # The agent ran once: its single output line is there once.
    stream = [json.loads(line)["line"] for line in paths.raw_stream.read_text().splitlines()]
    assert sum("noop: copied" in line for line in stream) == 1
    # An evaluation that had finished before the crash is reused, not repeated.
    if evaluated_before is not None:
        assert paths.eval_outcome.stat().st_mtime_ns == evaluated_before
    assert sorted(p.name for p in paths.eval_dir.glob("attempt-*")) == ["attempt-1"]


def test_killing_the_harness_mid_agent_kills_the_agent_and_resume_finishes(
    tiny_model: Path, runs_root: Path
) -> None:
    from posttrainbench.sandbox import get_sandbox

    if get_sandbox(None).name != "bwrap":
        pytest.skip("needs bwrap: the process backend cannot reap orphans of a killed harness")
    agent = "command:echo started > marker; sleep 3; cp -r {base_model} {final_model}"
    paths = paths_for(runs_root, tiny_model, agent)
    process = ptb_run(runs_root, tiny_model, agent=agent)
    deadline = time.time() + 60
    while not (paths.workspace / "marker").exists():
        assert time.time() < deadline, "agent never started"
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(4)  # longer than the agent's sleep: a surviving agent would have copied by now
    assert not paths.final_model.exists()  # the agent died with the harness
    assert finish(ptb_run(runs_root, tiny_model, agent=agent)) == 0
    result = json.loads(paths.result.read_text())
    assert result["raw_score"] is not None and result["fallback_reason"] is None
    assert EventLog(paths.events).attempts(PHASES[1]) == 2
