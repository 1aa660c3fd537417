"""Run folders written by an older harness still read: leaderboard, status, site, trace, export.

``tests/data/runs_main_2026_12`` holds two trials written by main ``5fa9148`` before the
records had a ``schema_version`` (a clean ``noop`` trial and a flagged one). Every record
there reads as version 0 and is migrated (``posttrainbench.records.migrate``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posttrainbench.cli import app
from posttrainbench.records import (
    MIGRATIONS,
    PHASE_RECORDS,
    SCHEMA_VERSION,
    AuditPhaseRecord,
    AuditReport,
    MonitorPeaks,
    PrepareRecord,
    Record,
    SolveOutcome,
    SubmissionRecord,
    migrate,
)
from posttrainbench.trial import EventLog, Phase, TrialPaths
from posttrainbench.trial.records import EvalOutcome, TrialRecord, TrialResult

OLD_RUNS = Path(__file__).parent / "data" / "runs_main_2026_12"
EXPERIMENT = "main-2026-12"
NOOP = "noop_arith-mini_tiny-base_0.05h_r1_3e9488e446"
FLAGGED = "command-python-m-posttra_arith-mini_tiny-base_0.05h_r1_1ffafacc69"


@pytest.fixture(scope="module")
def old_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the old runs with its index rebuilt (the index is not part of the data)."""
    runs = tmp_path_factory.mktemp("old") / "runs"
    shutil.copytree(OLD_RUNS, runs, ignore=shutil.ignore_patterns("README.md"))
    outcome = CliRunner().invoke(app, ["index", "--rebuild", "--runs-dir", str(runs)])
    assert outcome.exit_code == 0, outcome.output
    assert "indexed 2 trials" in outcome.output
    return runs


def _ptb(*args: str) -> str:
    outcome = CliRunner().invoke(app, list(args))
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def test_the_old_records_carry_no_schema_version() -> None:
    text = (OLD_RUNS / EXPERIMENT / NOOP / "trial.json").read_text()
    assert "schema_version" not in text  # the data really predates the field


@pytest.mark.parametrize("trial", [NOOP, FLAGGED])
def test_every_old_record_reads_as_version_zero_migrated(old_runs: Path, trial: str) -> None:
    paths = TrialPaths(old_runs / EXPERIMENT / trial)
    files: list[tuple[type[Record], Path]] = [
        (TrialRecord, paths.trial_json),
        (SolveOutcome, paths.solve_outcome),
        (SubmissionRecord, paths.submission),
        (MonitorPeaks, paths.monitor_peaks),
        (AuditReport, paths.audit),
        (EvalOutcome, paths.eval_outcome),
        (TrialResult, paths.result),
    ]
    for kind, path in files:
        assert "schema_version" not in json.loads(path.read_text()), path
        assert kind.load(path).schema_version == SCHEMA_VERSION, path
    events = EventLog(paths.events)
    ended = [event for event in events.records() if event.event == "end"]
    assert [event.phase for event in ended] == [phase.value for phase in Phase]
    for event in ended:
        assert isinstance(event.record(), PHASE_RECORDS[event.phase])
    assert events.record(Phase.PREPARE, PrepareRecord).twin_seed > 0


def test_the_flagged_old_trial_keeps_its_typed_findings(old_runs: Path) -> None:
    paths = TrialPaths(old_runs / EXPERIMENT / FLAGGED)
    report = AuditReport.load(paths.audit)
    assert report.verdict == "flagged"
    assert any(f.severity == "flag" for f in report.findings)
    assert TrialResult.load(paths.result).fallback_reason == "audit verdict flagged"


def test_a_record_newer_than_the_harness_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="upgrade posttrainbench"):
        migrate("TrialResult", {"schema_version": SCHEMA_VERSION + 1})


def test_leaderboard_and_status_read_the_old_runs(old_runs: Path) -> None:
    board = json.loads(_ptb("leaderboard", "--runs-dir", str(old_runs), "--format", "json"))
    assert "arith-mini" in json.dumps(board)
    status = _ptb("status", "--runs-dir", str(old_runs), "--json")
    assert NOOP in status and FLAGGED in status
    assert json.loads(status)[0]["phase"] == "done"


def test_the_site_shows_the_old_audit_findings(old_runs: Path, tmp_path: Path) -> None:
    _ptb("site", str(tmp_path / "site"), "--runs-dir", str(old_runs))
    page = next((tmp_path / "site" / "trials").glob("command-*.html")).read_text()
    assert "flagged" in page and 'class="finding"' in page


def test_trace_show_and_harbor_export_read_the_old_runs(old_runs: Path, tmp_path: Path) -> None:
    shown = _ptb("trace", "show", NOOP, "--runs-dir", str(old_runs), "--json")
    assert json.loads(shown)["steps"]
    _ptb("export", "harbor", EXPERIMENT, str(tmp_path / "harbor"), "--runs-dir", str(old_runs))
    exported = json.loads((tmp_path / "harbor" / NOOP / "result.json").read_text())
    assert exported["trial_name"] == NOOP or NOOP in json.dumps(exported)


def test_a_migration_step_applies_to_every_json_read_and_never_to_a_new_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def renamed(data: dict[str, object]) -> dict[str, object]:
        return {**data, "verdict": f"migrated-{data['verdict']}"}

    monkeypatch.setitem(MIGRATIONS, "AuditPhaseRecord", {0: renamed})
    old = '{"verdict": "clean"}'
    assert AuditPhaseRecord.parse(old).verdict == "migrated-clean"
    assert AuditPhaseRecord.model_validate_json(old).verdict == "migrated-clean"
    current = f'{{"verdict": "clean", "schema_version": {SCHEMA_VERSION}}}'
    assert AuditPhaseRecord.parse(current).verdict == "clean"
    assert AuditPhaseRecord(verdict="clean").verdict == "clean"
