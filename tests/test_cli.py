"""The command line as a user meets it: help, and one clear message for each bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from posttrainbench.cli import app


def ptb(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posttrainbench.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_help_lists_the_commands() -> None:
    completed = ptb("--help")
    assert completed.returncode == 0
    for command in ("demo", "run", "status", "leaderboard", "index"):
        assert command in completed.stdout


def run_args(model: Path | str, runs: Path, **overrides: str) -> list[str]:
    options = {
        "--agent": "noop",
        "--model": str(model),
        "--benchmark": "arith-mini",
        "--hours": "0.05",
        "--runs-dir": str(runs),
        **overrides,
    }
    return ["run", *[part for pair in options.items() for part in pair]]


def assert_clear_error(completed: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    for needle in needles:
        assert needle in completed.stderr


def test_unknown_benchmark(tiny_model: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    completed = ptb(*run_args(tiny_model, runs, **{"--benchmark": "gsm9k"}))
    assert_clear_error(completed, "Unknown benchmark 'gsm9k'", "arith")
    assert not runs.exists()  # nothing half-written


def test_unknown_agent(tiny_model: Path, tmp_path: Path) -> None:
    completed = ptb(*run_args(tiny_model, tmp_path / "runs", **{"--agent": "claude-kode"}))
    assert_clear_error(completed, "Unknown agent 'claude-kode'", "reference")


def test_missing_model_directory(tmp_path: Path) -> None:
    completed = ptb(*run_args("./no/such/model", tmp_path / "runs"))
    assert_clear_error(completed, "does not exist")


def test_model_not_cached_offline(tmp_path: Path) -> None:
    completed = ptb(*run_args("Qwen/Qwen3-1.7B-Base", tmp_path / "runs"))
    assert_clear_error(completed, "not in the Hugging Face cache", "offline")


def test_bad_budget(tiny_model: Path, tmp_path: Path) -> None:
    completed = ptb(*run_args(tiny_model, tmp_path / "runs", **{"--hours": "-1"}))
    assert_clear_error(completed, "hours")


def test_unwritable_runs_dir(tiny_model: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    completed = ptb(*run_args(tiny_model, blocker / "runs"))
    assert_clear_error(completed, "writable")


@pytest.fixture(scope="module")
def first_run(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A runs folder holding one finished noop trial, and what ``ptb run`` printed.

    The command runs in this process (its trial forks from this process's zygote); the
    other commands of this module run as a user runs them.
    """
    runs = tmp_path_factory.mktemp("first-run") / "runs"
    return runs, CliRunner().invoke(app, run_args(tiny_model, runs), env={"COLUMNS": "200"})


def test_run_dir_from_another_format_version(
    tiny_model: Path, tmp_path: Path, first_run: tuple[Path, Result]
) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(first_run[0], runs)
    trial_json = next(runs.glob("default/*/trial.json"))
    record = json.loads(trial_json.read_text())
    record["format_version"] = 999
    trial_json.write_text(json.dumps(record))
    assert_clear_error(ptb(*run_args(tiny_model, runs)), "run format 999")


def test_status_leaderboard_and_index_rebuild(
    tiny_model: Path, first_run: tuple[Path, Result]
) -> None:
    runs, first = first_run
    assert first.exit_code == 0, first.output
    # The trial ran in the local executor's queue, whose worker's output is shown as it comes.
    assert first.stdout.count("started (pid") == 1
    for phase in ("prepare", "solve", "collect", "audit", "evaluate", "finalize"):
        assert f"] {phase}" in first.stdout, phase
    [job] = (runs / "default" / "_executor" / "jobs").glob("*.json")
    assert json.loads(job.read_text())["state"] == "done"
    again = ptb(*run_args(tiny_model, runs))  # a finished trial is never run twice
    assert again.returncode == 0 and "started" not in again.stdout and "noop" in again.stdout
    status = json.loads(ptb("status", "--runs-dir", str(runs), "--json").stdout)
    assert [row["phase"] for row in status] == ["done"]
    board = json.loads(ptb("leaderboard", "--runs-dir", str(runs), "--json").stdout)
    (runs / "index.sqlite").unlink()
    rebuilt = ptb("index", "--rebuild", "--runs-dir", str(runs))
    assert "indexed 1 trials" in rebuilt.stdout
    assert json.loads(ptb("leaderboard", "--runs-dir", str(runs), "--json").stdout) == board
    # Only the toy benchmark ran: agents are ranked by the unweighted mean, and it says so.
    assert board["view"] == "agents"
    assert board["leaderboard"]["weights"]["source"] == "unweighted"
    assert board["rows"][0]["agent"] == "noop"
    assert board["rows"][0]["average"] == 0.0
