"""The SLURM executor against a real one-node cluster on loopback (slurmctld + slurmd)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from executor_helpers import job_record, ptb, ptb_command, status_of, wait_for, write_experiment
from slurm_cluster import SlurmCluster, loopback_slurm, unavailable_reason

from posttrainbench.config import load_experiment
from posttrainbench.executors.slurm import SlurmSettings, job_parameters
from posttrainbench.trial import TrialPaths, TrialSpec, trial_dir

SLURM_EXECUTOR = """
[executor]
type = "slurm"
partition = "debug"
cpus_per_trial = 1
poll_seconds = 1
max_requeues = 1
eval_margin_hours = 0.5
"""


def test_job_parameters_follow_the_trial_and_the_file() -> None:
    spec = TrialSpec(agent="noop", model="m", benchmark="arith", hours=10, gpus=2)
    settings = SlurmSettings(
        type="slurm", partition="gpu", account="lab", qos="high", mem_gb=64, sbatch={"x": 1}
    )
    params = job_parameters(spec, settings)
    assert params["time"] == 10 * 60 + 5 + 120
    assert params["gpus_per_node"] == 2 and "gres" not in params
    assert (params["partition"], params["account"], params["qos"]) == ("gpu", "lab", "high")
    assert params["mem"] == "64GB" and params["additional_parameters"] == {"x": 1}
    assert params["job_name"] == f"ptb-{spec.trial_id}"
    gres = job_parameters(spec, settings.model_copy(update={"gpu_gres": True}))
    assert gres["gres"] == "gpu:2" and "gpus_per_node" not in gres
    cpu = job_parameters(spec.model_copy(update={"gpus": 0}), SlurmSettings(type="slurm"))
    assert "gpus_per_node" not in cpu and "gres" not in cpu and "partition" not in cpu


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    # A short path: slurmd's spool and munge's socket must fit in a unix socket name.
    root = Path(tmp_path_factory.mktemp("slurm"))
    try:
        with loopback_slurm(root) as started:
            yield started
    except (RuntimeError, subprocess.SubprocessError, OSError) as error:
        pytest.skip(f"slurm cannot start here: {str(error)[:2000]}")


def squeue_state(cluster: SlurmCluster, job_id: str) -> str:
    completed = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **cluster.env},
    )
    return completed.stdout.strip()


@pytest.mark.timeout(500)
def test_a_trial_runs_as_a_job_and_is_requeued_when_its_job_dies(
    cluster: SlurmCluster, tiny_model: Path, tmp_path: Path
) -> None:
    agent = (
        "command:echo $CUDA_VISIBLE_DEVICES > gpus.txt; sleep 8; cp -r {base_model} {final_model}"
    )
    # The process sandbox shows the job's CUDA_VISIBLE_DEVICES as SLURM set it.
    path = write_experiment(
        tmp_path, "onslurm", tiny_model, [agent], SLURM_EXECUTOR, gpus=1, sandbox="process"
    )
    loaded = load_experiment(path)
    spec = loaded.trial_specs()[0]
    paths = TrialPaths(trial_dir(loaded.runs_root, spec))
    env = {**os.environ, **cluster.env, "COLUMNS": "250"}
    watcher = subprocess.Popen(
        ptb_command("run", str(path)), env=env, stdout=subprocess.PIPE, text=True
    )
    wait_for(paths.raw_stream.exists, what="the agent to start in the job")
    first_job = job_record(loaded.experiment_dir, spec.trial_id)["job_id"]
    subprocess.run(["scancel", first_job], env=env, check=True, timeout=30)  # "node failure"
    output, _ = watcher.communicate(timeout=400)
    assert watcher.returncode == 0, output
    assert "requeueing (1/1)" in output
    record = job_record(loaded.experiment_dir, spec.trial_id)
    assert record["job_id"] != first_job and record["attempts"] == 2
    [trial] = status_of(path, env=cluster.env)["trials"]
    assert trial["phase"] == "done" and trial["score"] is not None
    assert (paths.workspace / "gpus.txt").read_text().strip() == "0"  # the job's gres GPU
    # The second job resumed the trial: preparation ran once, the agent twice.
    events = [json.loads(line) for line in paths.events.read_text().splitlines()]
    starts = [event["phase"] for event in events if event["event"] == "start"]
    assert starts.count("prepare") == 1 and starts.count("solve") == 2
    # Submitting again finds the trial done: no job is submitted.
    again = ptb("run", str(path), env=cluster.env)
    assert again.returncode == 0 and "submitted" not in again.stdout


@pytest.mark.timeout(300)
def test_cancel_stops_the_jobs(cluster: SlurmCluster, tiny_model: Path, tmp_path: Path) -> None:
    path = write_experiment(tmp_path, "cancelme", tiny_model, ["command:sleep 300"], SLURM_EXECUTOR)
    loaded = load_experiment(path)
    spec = loaded.trial_specs()[0]
    submitted = ptb("run", str(path), "--no-wait", env=cluster.env)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    job_id = job_record(loaded.experiment_dir, spec.trial_id)["job_id"]
    raw = TrialPaths(trial_dir(loaded.runs_root, spec)).raw_stream
    wait_for(raw.exists, what="the agent to start in the job")
    # `status` asks squeue: the job submitted without a watcher is seen running.
    [trial] = status_of(path, env=cluster.env)["trials"]
    assert (trial["job"], trial["job_id"], trial["phase"]) == ("running", job_id, "solve")
    cancelled = ptb("cancel", str(path), "--json", env=cluster.env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["stopped"] == [spec.trial_id]
    wait_for(
        lambda: squeue_state(cluster, job_id) in {"CANCELLED", ""},
        what="the job to be cancelled",
    )
    [trial] = status_of(path, env=cluster.env)["trials"]
    assert trial["job"] == "cancelled" and trial["reason"] == "cancelled by the user"
    assert trial["phase"] == "solve"
