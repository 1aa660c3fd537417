"""The local executor: a queue of worker processes on this host, with state on disk."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from executor_helpers import (
    job_record,
    ptb,
    ptb_command,
    ptb_here,
    status_of,
    wait_for,
    write_experiment,
)

from posttrainbench.config import load_experiment
from posttrainbench.errors import UserError
from posttrainbench.executors import LocalQueue, host_gpus
from posttrainbench.trial import TrialPaths, trial_dir

WRITE_GPUS = "command:echo $CUDA_VISIBLE_DEVICES > gpus.txt; sleep 2"


def test_an_experiment_runs_reports_and_is_not_run_twice(tiny_model: Path, tmp_path: Path) -> None:
    path = write_experiment(tmp_path, "one", tiny_model, ["noop"])
    first = ptb_here("run", str(path))
    assert first.exit_code == 0, first.output
    assert first.stdout.count("started (pid") == 1
    [trial] = status_of(path)["trials"]
    assert (trial["phase"], trial["job"], trial["attempts"]) == ("done", "done", 1)
    assert trial["score"] is not None and trial["reason"] is None

    again = ptb_here("run", str(path))
    assert again.exit_code == 0, again.output
    assert "started" not in again.stdout
    assert status_of(path)["trials"][0]["attempts"] == 1
    # The plain text status names the counts per phase and job state.
    text = ptb_here("status", str(path))
    assert "phases: done 1" in text.stdout and "jobs: done 1" in text.stdout


def test_gpu_trials_get_distinct_devices_and_a_dead_worker_is_reported(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The unisolated sandbox shows the host's GPU ids (bwrap renumbers them from 0).
    path = write_experiment(
        tmp_path, "gpus", tiny_model, [WRITE_GPUS], replicates=3, gpus=1, sandbox="process"
    )
    loaded = load_experiment(path)
    # Each worker dies (SIGKILL) once its agent is done: no evaluation, and a real crash.
    monkeypatch.setenv("PTB_FAILPOINTS", "collect.start")
    records = LocalQueue(
        loaded.trial_specs(), loaded.runs_root, loaded.experiment_dir, gpu_ids=[3, 5]
    ).run()
    seen = [
        (TrialPaths(trial_dir(loaded.runs_root, spec)).workspace / "gpus.txt").read_text().strip()
        for spec in loaded.trial_specs()
    ]
    # Two GPUs for three trials: the first two ran side by side, the third waited for one.
    assert sorted(seen[:2]) == ["3", "5"] and seen[2] in {"3", "5"}
    assert {record.state for record in records.values()} == {"failed"}
    assert all("exited with code -9" in (r.reason or "") for r in records.values())
    trials = status_of(path)["trials"]
    assert {trial["phase"] for trial in trials} == {"collect"}
    assert all("exited with code -9" in trial["reason"] for trial in trials)
    with pytest.raises(UserError, match="need 1 GPU"):
        LocalQueue(loaded.trial_specs(), loaded.runs_root, loaded.experiment_dir, gpu_ids=[])


def test_host_gpus_come_from_cuda_visible_devices_or_device_nodes(tmp_path: Path) -> None:
    assert host_gpus({"CUDA_VISIBLE_DEVICES": "2,7"}, tmp_path) == [2, 7]
    assert host_gpus({"CUDA_VISIBLE_DEVICES": ""}, tmp_path) == []
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"):
        (tmp_path / name).touch()
    assert host_gpus({}, tmp_path) == [0, 1]


def start_run(path: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ptb_command("run", str(path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "250", **env},
    )


def test_a_restarted_queue_adopts_its_running_worker(tiny_model: Path, tmp_path: Path) -> None:
    # The agent outlives the restart: the restarted queue (a fresh CLI) must find it running.
    path = write_experiment(tmp_path, "adopt", tiny_model, ["command:sleep 15"])
    loaded = load_experiment(path)
    trial_id = loaded.trial_specs()[0].trial_id
    # The worker stops itself after the agent (no evaluation needed to prove adoption).
    queue = start_run(path, PTB_FAILPOINTS="collect.start")
    wait_for(
        lambda: job_record(loaded.experiment_dir, trial_id).get("state") == "running",
        what="the worker to start",
    )
    worker = job_record(loaded.experiment_dir, trial_id)["pid"]
    queue.send_signal(signal.SIGKILL)  # the queue dies; its worker runs on
    queue.communicate(timeout=30)
    assert Path(f"/proc/{worker}").exists()

    restarted = ptb("run", str(path))
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert f"adopting worker pid {worker}" in restarted.stdout
    assert "started (pid" not in restarted.stdout
    [trial] = status_of(path)["trials"]
    # Not our child any more, so its exit code is unknown: the trial says how far it got.
    assert (trial["phase"], trial["attempts"], trial["job"]) == ("collect", 1, "failed")
    assert trial["reason"].startswith("worker died")


def test_cancel_stops_the_running_trial_and_records_why(tiny_model: Path, tmp_path: Path) -> None:
    path = write_experiment(tmp_path, "stop", tiny_model, ["command:sleep 120"], replicates=2)
    loaded = load_experiment(path)
    first_id = loaded.trial_specs()[0].trial_id
    queue = start_run(path)
    wait_for(
        lambda: (
            (tmp_path / "runs" / "stop" / first_id / "agent" / "raw.jsonl").exists()
            or job_record(loaded.experiment_dir, first_id).get("state") == "running"
        ),
        what="the worker to start",
    )
    worker = job_record(loaded.experiment_dir, first_id)["pid"]
    cancelled = ptb("cancel", str(path), "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert first_id in cancelled.stdout
    output, _ = queue.communicate(timeout=120)
    assert queue.returncode == 0, output
    assert not Path(f"/proc/{worker}").exists()
    trials = status_of(path)["trials"]
    assert [trial["job"] for trial in trials] == ["cancelled", "cancelled"]
    assert trials[0]["reason"] == "cancelled by the user"
    assert trials[1]["attempts"] == 0  # never started
