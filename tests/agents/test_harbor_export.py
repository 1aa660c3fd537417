"""``ptb export harbor``: a finished trial with a trace, in Harbor's trial layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from posttrainbench.errors import UserError
from posttrainbench.executors import run_trials
from posttrainbench.testing import install_fake_cli
from posttrainbench.trial import TrialPaths, TrialSpec, trial_dir
from posttrainbench.trial.harbor import atif_problems, export_trial

from .streams import STREAMS


def ptb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "posttrainbench.cli", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


def test_a_finished_trial_exports_trajectory_instruction_and_reward(
    tiny_model: Path, runs_root: Path, tmp_path: Path
) -> None:
    prefix = tmp_path / "npm"
    lines = [line.replace("${PLANTED}", "${ANTHROPIC_API_KEY}") for line in STREAMS["claude-code"]]
    install_fake_cli(prefix, "claude", lines, commands=[f"cp -r {tiny_model} final_model"])
    spec = TrialSpec(
        agent="claude-code",
        agent_config="claude-sonnet-4-5",
        model=str(tiny_model),
        benchmark="arith-mini",
        hours=0.05,
        experiment="exp",
    )
    # The trial runs on the local queue of this process (as `ptb run` would run it).
    env = {"PTB_NPM_PREFIX": str(prefix), "ANTHROPIC_API_KEY": "sk-ant-x"}
    with mock.patch.dict(os.environ, env):
        run_trials([spec], runs_root, log=lambda _: None)
    paths = TrialPaths(trial_dir(runs_root, spec))
    ours = json.loads(paths.result.read_text())

    out = tmp_path / "harbor"
    exported = ptb("export", "harbor", "exp", str(out), "--runs-dir", str(runs_root))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    target = out / spec.trial_id
    trajectory = json.loads((target / "agent" / "trajectory.json").read_text())
    assert trajectory["schema_version"] == "ATIF-v1.4"
    assert trajectory["agent"]["name"] == "claude-code"
    assert atif_problems(trajectory) == []
    assert any(step.get("tool_calls") for step in trajectory["steps"])
    assert (target / "task" / "instruction.md").read_text() == paths.prompt.read_text()
    assert float((target / "verifier" / "reward.txt").read_text()) == ours["score"]
    result = json.loads((target / "result.json").read_text())
    assert result["trial_name"] == spec.trial_id
    assert result["verifier_result"]["rewards"]["reward"] == ours["score"]
    assert result["agent_result"]["cost_usd"] == trajectory["final_metrics"]["total_cost_usd"]
    assert result["started_at"] <= result["agent_execution"]["started_at"]
    assert json.loads((target / "posttrainbench" / "result.json").read_text()) == ours


def test_atif_problems_name_bad_ids_and_dangling_observations() -> None:
    steps = [
        {"step_id": 1, "source": "agent", "tool_calls": [{"tool_call_id": "a"}]},
        {"step_id": 3, "source": "bot", "observation": {"results": [{"source_call_id": "z"}]}},
    ]
    problems = atif_problems({"steps": steps})
    assert len(problems) == 3 and "unknown call z" in problems[2]


def test_an_unfinished_trial_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not finished"):
        export_trial(tmp_path, tmp_path / "out")
