"""`ptb run FILE`, `ptb status FILE` and `ptb cancel FILE` as a user meets them."""

from __future__ import annotations

from pathlib import Path

from executor_helpers import ptb, status_of, write_experiment


def test_help_lists_cancel_and_run_takes_a_file() -> None:
    assert "cancel" in ptb("--help").stdout
    assert "experiment_file" in ptb("run", "--help").stdout.lower()


def test_run_needs_a_file_or_the_trial_options() -> None:
    completed = ptb("run", "--agent", "noop")
    assert completed.returncode == 2
    assert "Give an experiment file" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_bad_file_is_one_message_with_file_and_line(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, "bad", tmp_path, ["noop"], "[executor]\nslots = 0\n")
    completed = ptb("run", str(path))
    assert completed.returncode == 2
    assert f"{path}:7: executor.slots" in completed.stderr.replace("\n", "")
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "runs").exists()


def test_status_of_an_unstarted_experiment_lists_every_trial_as_new(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, "fresh", tmp_path, ["noop", "reference"], replicates=2)
    status = status_of(path)
    assert len(status["trials"]) == 4
    assert {(trial["phase"], trial["job"]) for trial in status["trials"]} == {("new", "queued")}
    cancelled = ptb("cancel", str(path))
    assert cancelled.returncode == 0 and "stopped 0" in cancelled.stdout
