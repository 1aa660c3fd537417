"""``ptb export harbor-tasks``: (model, benchmark) pairs as Harbor task directories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import resolve_model
from posttrainbench.errors import UserError
from posttrainbench.trial.harbor_tasks import CONTAINER_ROOT, export_task, task_spec
from posttrainbench.trial.layout import TrialPaths
from posttrainbench.trial.workspace import render_prompt

# Harbor's task.toml schema as its documentation describes it (harbor docs, "task.toml
# Configuration Reference", task format version "1.0"; the environment's resource keys as
# Harbor's EnvironmentConfig names them: cpus, memory_mb, storage_mb, gpus).


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    author_name: str | None = None
    author_email: str | None = None
    difficulty: str | None = None
    category: str | None = None
    tags: list[str] = Field(default_factory=list)


class _Verifier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout_sec: float = Field(gt=0)
    env: dict[str, str] = Field(default_factory=dict)


class _Agent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout_sec: float = Field(gt=0)


class _Environment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    build_timeout_sec: float = Field(gt=0)
    docker_image: str | None = None
    cpus: int = Field(ge=1)
    memory_mb: int = Field(ge=1)
    storage_mb: int = Field(ge=1)
    gpus: int = Field(ge=0)
    gpu_types: list[str] | None = None
    allow_internet: bool = True


class _HarborTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    metadata: _Metadata
    verifier: _Verifier
    agent: _Agent
    environment: _Environment


def test_a_task_directory_has_instruction_config_image_and_verifier(
    tiny_model: Path, tmp_path: Path
) -> None:
    task = export_task(str(tiny_model), "arith", 2.5, 1, tmp_path / "out")

    for name in ("instruction.md", "task.toml", "environment/Dockerfile", "tests/test.sh"):
        assert (task / name).is_file(), name
    for name in ("evaluate.py", "timer.sh", "templates"):
        assert (task / "environment" / "task" / name).exists(), name
    assert (task / "environment" / "base_model" / "config.json").is_file()

    config = _HarborTask.model_validate(tomllib.loads((task / "task.toml").read_text()))
    assert config.version == "1.0"
    assert config.agent.timeout_sec == 2.5 * 3600
    assert config.verifier.timeout_sec > 0
    assert config.environment.gpus == 1

    spec = task_spec(str(tiny_model), "arith", 2.5, 1)
    paths = TrialPaths(CONTAINER_ROOT)
    resolved = resolve_model(str(tiny_model))
    instruction = (task / "instruction.md").read_text()
    expected = render_prompt(
        spec,
        get_benchmark("arith"),
        type(resolved)(resolved.name, Path("/models/base"), resolved.family, None),
        paths,
    )
    assert instruction == expected
    assert str(paths.final_model) in instruction

    test_sh = (task / "tests" / "test.sh").read_text()
    assert "python3 -m posttrainbench.evaluation.final" in test_sh
    assert '--model-dir "$1"' in test_sh and str(paths.final_model) in test_sh
    assert "PTB_VERIFIER_LOGS:-/logs/verifier}" in test_sh and "reward.txt" in test_sh
    assert (task / "tests" / "test.sh").stat().st_mode & 0o111
    dockerfile = (task / "environment" / "Dockerfile").read_text()
    assert "pip install posttrainbench" in dockerfile
    assert f"COPY task/ {paths.task_dir}/" in dockerfile


def test_a_catalog_model_is_fetched_at_build_time_by_its_id(tmp_path: Path) -> None:
    task = export_task("Qwen/Qwen3-1.7B-Base", "gsm8k", 10, 8, tmp_path)
    dockerfile = (task / "environment" / "Dockerfile").read_text()
    assert "huggingface-cli download Qwen/Qwen3-1.7B-Base" in dockerfile
    assert not (task / "environment" / "base_model").exists()
    config = _HarborTask.model_validate(tomllib.loads((task / "task.toml").read_text()))
    assert config.agent.timeout_sec == 36000
    assert config.environment.gpus == 8


def test_the_timer_starts_the_budget_on_first_use(tiny_model: Path, tmp_path: Path) -> None:
    task = export_task(str(tiny_model), "arith", 1, 0, tmp_path)
    timer = (task / "environment" / "task" / "timer.sh").read_text()
    deadline_file = tmp_path / "deadline"
    runnable = timer.replace(str(CONTAINER_ROOT / "deadline"), str(deadline_file))
    result = subprocess.run(["bash", "-c", runnable], capture_output=True, text=True, check=False)
    assert "over" not in result.stdout.lower()
    first = deadline_file.read_text()
    subprocess.run(["bash", "-c", runnable], capture_output=True, text=True, check=False)
    assert deadline_file.read_text() == first


def test_an_unknown_benchmark_is_a_clear_error(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no-such-bench"):
        export_task(str(tiny_model), "no-such-bench", 1, 1, tmp_path)


def test_the_cli_writes_one_task_per_pair(tiny_model: Path, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "posttrainbench.cli", "export", "harbor-tasks", str(tmp_path)]
    argv += ["--model", str(tiny_model), "--benchmark", "arith", "--benchmark", "gsm8k"]
    argv += ["--hours", "1", "--gpus", "0"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arith_tiny-base", "gsm8k_tiny-base"]


def test_the_verifier_writes_a_reward_when_no_model_can_be_evaluated(
    tiny_model: Path, tmp_path: Path
) -> None:
    # Outside the image the task files are missing (the audit flags that) and /models/base
    # does not exist (the real evaluation fails): the verifier still leaves a reward.
    task = export_task(str(tiny_model), "arith", 1, 0, tmp_path / "out")
    logs = tmp_path / "logs"
    bin_dir = Path(sys.executable).parent  # the venv's python3, with posttrainbench installed
    env = {**os.environ, "PTB_VERIFIER_LOGS": str(logs), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(task / "tests" / "test.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (logs / "reward.txt").read_text().strip() == "0", result.stderr
    assert "audit flagged" in result.stderr
    assert json.loads((logs / "audit.json").read_text())["verdict"] == "flagged"
    assert (logs / "base" / "error.json").is_file()  # the real evaluation ran and refused


def test_the_verifier_audit_flags_tampered_task_files(tiny_model: Path, tmp_path: Path) -> None:
    task = export_task(str(tiny_model), "arith", 1, 0, tmp_path / "out")
    workspace = tmp_path / "workspace"
    shutil.copytree(task / "environment" / "task", workspace / "task")

    def integrity_flags() -> list[str]:
        argv = [sys.executable, str(task / "tests" / "audit.py"), str(workspace)]
        argv += [str(tiny_model), "arith", str(task / "tests" / "given_files.json")]
        argv += [str(tmp_path / "no-trace.json"), str(tmp_path / "audit.json")]
        subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        findings: list[dict[str, str]] = json.loads((tmp_path / "audit.json").read_text())[
            "findings"
        ]
        return [
            f["message"]
            for f in findings
            if f["detector"] == "integrity" and f["severity"] == "flag"
        ]

    assert integrity_flags() == []
    (workspace / "task" / "evaluate.py").write_text("print('accuracy: 1.0')\n")
    flags = integrity_flags()
    assert flags and "evaluate.py" in flags[0]
