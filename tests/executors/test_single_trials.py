"""``ptb run --agent ...`` runs its trials in the local executor's queue, watched."""

from __future__ import annotations

import json
from pathlib import Path

from executor_helpers import ptb


def run_args(model: Path, runs: Path, *extra: str) -> list[str]:
    return [
        *("run", "--agent", "noop", "--model", str(model), "--benchmark", "arith-mini"),
        *("--hours", "0.05", "--runs-dir", str(runs), *extra),
    ]


def test_a_trial_runs_in_the_queue_shows_its_phases_and_never_runs_twice(
    tiny_model: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    first = ptb(*run_args(tiny_model, runs))
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("started (pid") == 1
    # What the worker prints reaches the terminal as it comes: every phase of the trial.
    for phase in ("prepare", "solve", "collect", "audit", "evaluate", "finalize"):
        assert f"] {phase}" in first.stdout, phase
    [record] = (runs / "default" / "_executor" / "jobs").glob("*.json")
    job = json.loads(record.read_text())
    assert (job["state"], job["attempts"], job["exit_code"]) == ("done", 1, 0)

    again = ptb(*run_args(tiny_model, runs))
    assert again.returncode == 0, again.stderr
    assert "started" not in again.stdout and "] prepare" not in again.stdout
    assert "noop" in again.stdout  # the leaderboard of its recorded result
    assert json.loads(record.read_text())["attempts"] == 1


def test_a_trial_waits_for_a_gpu_slot_of_this_host(tiny_model: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    completed = ptb(*run_args(tiny_model, runs, "--gpus", "1"), env={"CUDA_VISIBLE_DEVICES": ""})
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "need 1 GPU(s) each but this host offers 0" in " ".join(completed.stderr.split())
    assert "Traceback" not in completed.stderr
