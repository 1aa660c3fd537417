"""The submission is a read-only snapshot of the agent's own files, taken at collect.

Each attack is a real trial whose ``command:`` agent does exactly that; all attack trials
share one runs folder, so the base model's fallback score is computed once.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from posttrainbench.results import TrialResult
from posttrainbench.sandbox.limits import LimitSettings
from posttrainbench.testing.crashes import run_worker_until
from posttrainbench.trial import TrialPaths, TrialRunner, TrialSpec, trial_dir
from posttrainbench.trial.audit import reaudit
from posttrainbench.trial.submission import SubmissionRecord


@pytest.fixture(scope="module")
def shared_runs(trial_runs: Path) -> Path:
    """The runs folder shared by attack trials."""
    return trial_runs


@pytest.fixture(scope="module")
def victim(shared_runs: Path, tiny_model: Path) -> Path:
    """Another trial's final_model: what a score thief points at."""
    folder = shared_runs / "other-experiment" / "victim-trial" / "workspace" / "final_model"
    shutil.copytree(tiny_model, folder)
    return folder


def run_attack(
    runs: Path,
    model: Path,
    command: str,
    sandbox: str = "auto",
    limits: LimitSettings | None = None,
) -> TrialPaths:
    spec = TrialSpec(
        agent="command",
        agent_config=command,
        model=str(model),
        benchmark="arith-mini",
        hours=0.05,
        sandbox=sandbox,
        limits=limits or LimitSettings(),
    )
    TrialRunner(spec, runs, log=lambda _: None).run()
    return TrialPaths(trial_dir(runs, spec))


def assert_rejected(paths: TrialPaths, why: str) -> None:
    record = SubmissionRecord.load(paths.submission)
    assert not record.present and record.reason is not None and why in record.reason
    result = TrialResult.model_validate_json(paths.result.read_text())
    assert result.raw_score is None and result.score == result.base_score
    assert result.fallback_reason is not None and why in result.fallback_reason
    assert not paths.submitted_model.exists()


def test_absolute_link_to_another_trials_model_is_rejected(
    shared_runs: Path, tiny_model: Path, victim: Path
) -> None:
    paths = run_attack(shared_runs, tiny_model, f"ln -s {victim} {{final_model}}")
    assert_rejected(paths, "outside the trial's workspace")
    assert TrialResult.model_validate_json(paths.result.read_text()).isolated is True


def test_relative_link_and_parent_dir_link_are_rejected(
    shared_runs: Path, tiny_model: Path, victim: Path
) -> None:
    # The workspace is runs/<experiment>/<trial>/workspace: ../../../ is the runs folder.
    relative = os.path.relpath(victim, shared_runs)
    paths = run_attack(shared_runs, tiny_model, f"ln -s ../../../{relative} final_model; echo r")
    assert_rejected(paths, "outside the trial's workspace")
    # A link to a parent folder, then a weight file reached through it.
    command = (
        f"ln -s ../../.. up && cp -r {{base_model}} final_model && rm final_model/*.safetensors"
        f" && ln -s ../up/{relative}/model.safetensors final_model/model.safetensors"
    )
    paths = run_attack(shared_runs, tiny_model, command)
    assert_rejected(paths, "final_model/model.safetensors is a symbolic link to")


def test_hard_linked_weights_of_another_trial_are_rejected(
    shared_runs: Path, tiny_model: Path, victim: Path
) -> None:
    # Only an unisolated agent can see another trial's files to hard-link them.
    command = (
        "cp -r {base_model} {final_model} && rm {final_model}/model.safetensors && "
        f"ln {victim}/model.safetensors {{final_model}}/model.safetensors"
    )
    paths = run_attack(shared_runs, tiny_model, command, sandbox="process")
    assert (paths.final_model / "model.safetensors").stat().st_nlink == 2  # the attack worked
    assert_rejected(paths, "hard link shared with a file outside")
    # The leaderboard marks it: the agent ran unisolated.
    assert TrialResult.model_validate_json(paths.result.read_text()).isolated is False


@pytest.mark.timeout(300)
def test_fifo_in_final_model_is_rejected_without_hanging(
    shared_runs: Path, tiny_model: Path
) -> None:
    command = "cp -r {base_model} {final_model} && rm {final_model}/config.json && "
    command += "mkfifo {final_model}/config.json"
    paths = run_attack(shared_runs, tiny_model, command)
    assert_rejected(paths, "final_model/config.json is a FIFO, socket or device")


def test_snapshot_of_in_workspace_links_is_what_is_scored_after_a_swap(
    shared_runs: Path, tiny_model: Path
) -> None:
    # Links that stay inside the workspace are fine: the snapshot holds their content.
    agent = (
        "command:mkdir -p ckpt && cp -r {base_model}/. ckpt/ && mkdir final_model && "
        "for f in ckpt/*; do ln -s ../$f final_model/; done"
    )
    spec = TrialSpec(
        agent="command",
        agent_config=agent.removeprefix("command:"),
        model=str(tiny_model),
        benchmark="arith-mini",
        hours=0.05,
        experiment="swap",
    )
    crashed = run_worker_until("audit.start", shared_runs, spec)
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    paths = TrialPaths(trial_dir(shared_runs, spec))
    # After collect, final_model becomes an unusable model (a broken config.json).
    shutil.rmtree(paths.final_model)
    paths.final_model.mkdir()
    (paths.final_model / "config.json").write_text("{not json")
    TrialRunner(spec, shared_runs, log=lambda _: None).run()
    result = json.loads(paths.result.read_text())
    assert result["fallback_reason"] is None and result["raw_score"] is not None
    assert result["audit_verdict"] == "clean"
    # A later re-audit reads the snapshot too, not the swapped folder.
    again = reaudit(paths.root)
    assert again.report.verdict == "clean"
    record = SubmissionRecord.load(paths.submission)
    snapshot = paths.submitted_model
    assert sorted(record.files) == sorted(p.name for p in tiny_model.iterdir() if p.is_file())
    for name, entry in record.files.items():
        copied = snapshot / name
        assert not copied.is_symlink() and copied.read_bytes() == (tiny_model / name).read_bytes()
        assert entry.size == copied.stat().st_size
        assert not copied.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert not snapshot.stat().st_mode & stat.S_IWUSR


def test_folder_chain_longer_than_any_path_is_rejected_and_the_trial_finishes(
    shared_runs: Path, tiny_model: Path
) -> None:
    # 45 nested folders of 100 characters: a path of 4,500+ characters (ENAMETOOLONG).
    command = "cp -r {base_model} {final_model} && cd {final_model} && "
    command += "for i in $(seq 45); do d=$(printf 'd%.0s' $(seq 100)); mkdir $d && cd $d; done"
    paths = run_attack(shared_runs, tiny_model, command)
    assert_rejected(paths, "a path longer than 1024 characters")
    # The audit, which walks the whole workspace, reports the bound instead of crashing.
    audit = json.loads(paths.audit.read_text())
    assert "a path longer than 1024 characters" in json.dumps(audit)


def test_task_folder_replaced_by_a_link_to_etc_is_never_read(
    shared_runs: Path, tiny_model: Path
) -> None:
    paths = run_attack(shared_runs, tiny_model, "mv task task.orig && ln -s /etc task")
    audit = json.loads(paths.audit.read_text())
    assert audit["verdict"] == "flagged"
    assert "changed harness-given task files" in json.dumps(audit)
    text = json.dumps(audit)
    for host_file in ("passwd", "shadow", "hostname"):
        assert host_file not in text  # no file of /etc was listed, hashed or read


@pytest.mark.timeout(120)
def test_huge_sparse_file_is_rejected_without_being_copied(
    shared_runs: Path, tiny_model: Path
) -> None:
    command = "cp -r {base_model} {final_model} && truncate -s 2T {final_model}/pad.bin"
    # The sandbox's per-file cap (the disk limit, by default half the free space) would
    # refuse the 2 TB file outright; a larger disk limit lets it through to collect, whose
    # own bound is what this test is about.
    paths = run_attack(shared_runs, tiny_model, command, limits=LimitSettings(disk_gb=4096))
    assert_rejected(paths, "final_model is larger than the 64 GiB cap (at final_model/pad.bin")
