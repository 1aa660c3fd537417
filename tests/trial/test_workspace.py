import subprocess
import time
from pathlib import Path

import jinja2
import pytest

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import resolve_model
from posttrainbench.trial import TrialPaths, TrialSpec
from posttrainbench.trial.prompt import render
from posttrainbench.trial.workspace import prepare_workspace


def prepare(
    tiny_model: Path, root: Path, hours: float = 2.0, now: float | None = None
) -> TrialPaths:
    spec = TrialSpec(agent="noop", model=str(tiny_model), benchmark="arith", hours=hours)
    paths = TrialPaths(root)
    root.mkdir(parents=True, exist_ok=True)
    prepare_workspace(
        spec,
        get_benchmark("arith"),
        resolve_model(str(tiny_model)),
        paths,
        now=time.time() if now is None else now,
    )
    return paths


def timer(paths: TrialPaths) -> str:
    return subprocess.run(
        ["bash", str(paths.task_dir / "timer.sh")], capture_output=True, text=True, check=True
    ).stdout


def test_workspace_holds_the_task_files_and_prompt(tiny_model: Path, tmp_path: Path) -> None:
    paths = prepare(tiny_model, tmp_path / "trial")
    assert (paths.task_dir / "evaluate.py").is_file()
    assert (paths.task_dir / "templates" / "qwen3.jinja").is_file()
    assert not paths.final_model.exists()
    prompt = paths.prompt.read_text()
    assert str(tiny_model) in prompt and "Arith" in prompt
    assert str(paths.final_model) in prompt
    assert "Do not train on the benchmark's test data" in prompt
    assert "Do not modify evaluate.py" in prompt
    assert "2 hours" in prompt


def test_timer_counts_down_from_the_fixed_deadline(tiny_model: Path, tmp_path: Path) -> None:
    paths = prepare(tiny_model, tmp_path / "trial", hours=2.0)
    assert timer(paths).strip() in {
        "Remaining time (hours:minutes): 1:59",
        "Remaining time (hours:minutes): 2:00",
    }
    expired = prepare(tiny_model, tmp_path / "old", hours=1.0, now=time.time() - 7200)
    assert "Time is over" in timer(expired)


def test_preparing_again_replaces_a_half_built_workspace(tiny_model: Path, tmp_path: Path) -> None:
    paths = prepare(tiny_model, tmp_path / "trial")
    (paths.workspace / "stray.txt").write_text("from a crashed attempt")
    paths.workspace.with_name("workspace.partial").mkdir()
    prepare(tiny_model, tmp_path / "trial")
    assert not (paths.workspace / "stray.txt").exists()
    assert not paths.workspace.with_name("workspace.partial").exists()


def test_templates_refuse_missing_values() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("timer.sh.j2")
