"""A missing, broken or unsafe final_model scores the base model's score, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.results import TrialResult
from posttrainbench.trial import TrialRunner, TrialSpec


@pytest.fixture(scope="module")
def shared_runs(trial_runs: Path) -> Path:
    return trial_runs  # one runs dir for the session: the base score is computed once


def run_command_agent(command: str, model: Path, runs: Path, hours: float = 0.05) -> TrialResult:
    spec = TrialSpec(
        agent="command", agent_config=command, model=str(model), benchmark="arith-mini", hours=hours
    )
    return TrialRunner(spec, runs, log=lambda message: None).run()


def assert_base_fallback(result: TrialResult, reason: str) -> None:
    assert result.raw_score is None
    assert result.fallback_reason is not None and reason in result.fallback_reason
    assert result.base_score is not None and result.score == result.base_score


def test_no_final_model(tiny_model: Path, shared_runs: Path) -> None:
    result = run_command_agent("echo giving up", tiny_model, shared_runs)
    assert_base_fallback(result, "no final_model")
    assert result.solve_outcome == "exited"


def test_final_model_that_does_not_load(tiny_model: Path, shared_runs: Path) -> None:
    broken = "mkdir {final_model} && echo '{{not json' > {final_model}/config.json"
    result = run_command_agent(broken, tiny_model, shared_runs)
    assert_base_fallback(result, "final_model unusable")


def test_final_model_linking_outside_the_workspace_is_rejected(
    tiny_model: Path, shared_runs: Path
) -> None:
    result = run_command_agent("ln -s /etc {final_model}", tiny_model, shared_runs)
    assert_base_fallback(result, "outside the trial's workspace")


def test_agent_past_its_time_is_stopped_and_its_model_kept(
    tiny_model: Path, shared_runs: Path
) -> None:
    # 0.001 h = 3.6 s of budget plus the minimum 10 s of grace, then the tree is killed.
    command = "cp -r {base_model} {final_model}; trap '' TERM; sleep 600"
    result = run_command_agent(command, tiny_model, shared_runs, hours=0.001)
    assert result.solve_outcome == "timed_out"
    assert result.raw_score is not None and result.fallback_reason is None
