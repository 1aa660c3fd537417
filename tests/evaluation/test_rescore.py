"""ptb rescore: stored completions re-scored with the current scorers, changes listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posttrainbench.cli import app
from posttrainbench.errors import UserError
from posttrainbench.trial import TrialRunner, TrialSpec


@pytest.fixture(scope="module")
def scored_trial(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real trial (the base model submitted as is), evaluated with the greedy protocol."""
    runs = tmp_path_factory.mktemp("runs")
    spec = TrialSpec(
        agent="command",
        agent_config="cp -r {base_model} {final_model}",
        model=str(tiny_model),
        benchmark="arith-mini",
        hours=0.05,
        protocol="greedy",
    )
    result = TrialRunner(spec, runs, log=lambda message: None).run()
    assert result.raw_score is not None
    return runs / spec.experiment / spec.trial_id


def _rescore(*args: str) -> list[dict[str, object]]:
    outcome = CliRunner().invoke(app, ["rescore", *args, "--json"])
    assert outcome.exit_code == 0, outcome.output
    reports: list[dict[str, object]] = json.loads(outcome.stdout)
    return reports


def _flip_first_stored_verdict(trial: Path) -> str:
    """Make the stored log look scored by an older scorer that judged sample 1 otherwise."""
    from inspect_ai.log import read_eval_log, write_eval_log

    metrics = json.loads(next(trial.glob("eval/attempt-*/metrics.json")).read_text())
    log_path = next(trial.glob("eval/attempt-*/logs")) / metrics["log_file"]
    log = read_eval_log(str(log_path))
    assert log.samples
    score = next(iter(log.samples[0].scores.values()))  # type: ignore[union-attr]
    score.value = "I" if score.value == "C" else "C"
    write_eval_log(log, str(log_path))
    return str(log.samples[0].id)


def test_rescore_lists_changed_verdicts_and_writes_only_when_asked(scored_trial: Path) -> None:
    (unchanged,) = _rescore(str(scored_trial))
    assert unchanged["changed"] == [] and unchanged["new_accuracy"] == unchanged["old_accuracy"]

    flipped = _flip_first_stored_verdict(scored_trial)
    (report,) = _rescore(str(scored_trial.parent))  # the experiment folder works too
    changes = report["changed"]
    assert isinstance(changes, list) and [c["sample_id"] for c in changes] == [flipped]
    assert report["written"] is False
    result_before = json.loads((scored_trial / "result.json").read_text())

    (written,) = _rescore(str(scored_trial), "--write")
    assert written["written"] is True
    (again,) = _rescore(str(scored_trial))
    assert again["changed"] == []  # the stored log now holds the current verdicts
    result_after = json.loads((scored_trial / "result.json").read_text())
    assert result_after["raw_score"] == written["new_accuracy"]
    assert result_before["raw_score"] == written["new_accuracy"]  # the true score is back


def test_rescore_of_a_folder_without_trials_is_a_clear_error(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(app, ["rescore", str(tmp_path)])
    assert isinstance(outcome.exception, UserError)
    assert "holds no trial" in str(outcome.exception)
