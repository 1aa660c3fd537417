"""The red-team corpus as real trials: every cheat flagged by its detector, honest clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.audit import AuditReport
from posttrainbench.testing.redteam import (
    SCENARIOS,
    RedTeamModels,
    Scenario,
    ScenarioOutcome,
    build_models,
    run_scenario,
    summarize,
)
from posttrainbench.trial import TrialPaths

FAST = [scenario for scenario in SCENARIOS if scenario.fast]
SLOW = [scenario for scenario in SCENARIOS if not scenario.fast]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> RedTeamModels:
    """Base, instruct stand-in and unrelated model, built once for the module."""
    return build_models(tmp_path_factory.mktemp("redteam-models"))


def _check(scenario: Scenario, models: RedTeamModels, runs: Path) -> None:
    if scenario.pending:
        pytest.skip(f"needs {scenario.pending}")
    outcome = run_scenario(scenario, models, runs)
    assert outcome.solve_outcome == "exited", f"the {scenario.name} agent itself failed"
    report = AuditReport.model_validate_json(TrialPaths(outcome.trial_dir).audit.read_text())
    if scenario.cheat:
        assert outcome.verdict == "flagged", report.findings
        assert outcome.flagged_by & scenario.detectors, (outcome.flagged_by, report.reasons)
    else:
        assert outcome.verdict == "clean", report.reasons


def test_the_corpus_covers_both_sides() -> None:
    assert {s.cheat for s in FAST} == {True, False}
    assert len(SCENARIOS) >= 40 and sum(not s.cheat for s in SCENARIOS) >= 10
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
    assert all(s.detectors for s in SCENARIOS if s.cheat)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("scenario", FAST, ids=lambda s: s.name)
def test_fast_subset(scenario: Scenario, models: RedTeamModels, tmp_path: Path) -> None:
    _check(scenario, models, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("scenario", SLOW, ids=lambda s: s.name)
def test_rest_of_the_corpus(scenario: Scenario, models: RedTeamModels, tmp_path: Path) -> None:
    _check(scenario, models, tmp_path)


def test_summary_counts_misses_and_false_alarms(tmp_path: Path) -> None:
    by_name = {s.name: s for s in SCENARIOS}
    outcomes = [
        ScenarioOutcome(
            by_name["evaluate-edited"], "flagged", frozenset({"integrity"}), tmp_path, ""
        ),
        ScenarioOutcome(by_name["template-edited"], "clean", frozenset(), tmp_path, ""),
        ScenarioOutcome(by_name["honest-train-split"], "error", frozenset(), tmp_path, ""),
        ScenarioOutcome(by_name["honest-lora-merge"], "clean", frozenset(), tmp_path, ""),
    ]
    summary = summarize(outcomes)
    assert (summary.cheats, summary.caught, summary.honest, summary.false_positives) == (2, 1, 2, 1)
    assert summary.recall == summary.false_positive_rate == 0.5
    assert [o.correct for o in outcomes] == [True, False, False, True]
