"""A trial SIGKILLed anywhere and re-run finishes with nothing lost or duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from posttrainbench.executors import run_trials
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


@dataclass(frozen=True)
class Crash:
    """What one SIGKILL left: the worker's exit and the trial's events at that moment."""

    returncode: int
    output: str
    attempts: dict[str, int]
    """Starts of each phase so far."""
    ended: list[str]
    """Phases ended so far, in the order they ended."""
    evaluated_at: int | None
    """mtime of the evaluation's outcome, once written."""


@dataclass(frozen=True)
class Chain:
    crashes: dict[str, Crash]
    paths: TrialPaths
    result: dict[str, object]


@pytest.fixture(scope="module")
def chain(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """One trial killed at every failpoint in turn, each worker resuming where the last died.

    Worker N resumes the trial that worker N-1 left and dies (a real SIGKILL, in a process
    of its own) at failpoint N; after the last one a harness that was not killed finishes
    it. Every point is thus both a crash and a resume from a crash, at the cost of one
    trial's work rather than twelve.
    """
    runs_root = tmp_path_factory.mktemp("chained-runs")
    spec = spec_for(tiny_model)
    paths = paths_for(runs_root, tiny_model)
    crashes = {}
    for point in FAILPOINTS:
        crashed = run_worker_until(point, runs_root, spec)
        events = EventLog(paths.events)
        crashes[point] = Crash(
            returncode=crashed.returncode,
            output=crashed.stdout,
            attempts={phase.value: events.attempts(phase) for phase in PHASES},
            ended=[r.phase for r in events.records() if r.event == "end"],
            evaluated_at=(
                paths.eval_outcome.stat().st_mtime_ns if paths.eval_outcome.exists() else None
            ),
        )
    TrialRunner(spec, runs_root, log=lambda _: None).run()
    return Chain(crashes, paths, json.loads(paths.result.read_text()))


@pytest.mark.parametrize("point", FAILPOINTS)
def test_sigkill_at_each_point_leaves_the_finished_phases_done_once(
    point: str, chain: Chain
) -> None:
    crash = chain.crashes[point]
    assert crash.returncode == -signal.SIGKILL, crash.output
    killed, where = point.split(".")
    index = [phase.value for phase in PHASES].index(killed)
    # Each earlier phase ended exactly once, in order: killed at its start, killed before
    # its end, then finished by the next worker (3 starts); none was run again after that.
    assert crash.ended == [phase.value for phase in PHASES[:index]]
    for phase in PHASES[:index]:
        assert crash.attempts[phase.value] == 3, (phase, crash.attempts)
    assert crash.attempts[killed] == (1 if where == "start" else 2), crash.attempts
    for phase in PHASES[index + 1 :]:
        assert crash.attempts[phase.value] == 0, (phase, crash.attempts)


def test_the_trial_killed_everywhere_ends_as_the_uninterrupted_one(
    chain: Chain, uninterrupted: dict[str, object]
) -> None:
    for key in ("score", "raw_score", "fallback_reason", "solve_outcome", "audit_verdict"):
        assert chain.result[key] == uninterrupted[key], key
    paths = chain.paths
    events = EventLog(paths.events)
    ends = [r.phase for r in events.records() if r.event == "end"]
    assert ends == [phase.value for phase in PHASES]  # each phase ended exactly once, in order
    assert all(events.attempts(phase) == 3 for phase in PHASES)
    # The agent ran once (killed before solve's end record, it is not run again).
    stream = [json.loads(line)["line"] for line in paths.raw_stream.read_text().splitlines()]
    assert sum("noop: copied" in line for line in stream) == 1
    # The evaluation, finished before the kill at evaluate.before_end, is reused.
    evaluated = chain.crashes["evaluate.before_end"].evaluated_at
    assert evaluated is not None and paths.eval_outcome.stat().st_mtime_ns == evaluated
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
    run_trials([spec_for(tiny_model, agent)], runs_root, log=print)  # resumed in this process
    result = json.loads(paths.result.read_text())
    assert result["raw_score"] is not None and result["fallback_reason"] is None
    assert EventLog(paths.events).attempts(PHASES[1]) == 2
