"""Preparing the agent's workspace: task files, prompt, and the fixed deadline."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from posttrainbench._fileio import atomic_write_text
from posttrainbench.benchmarks import Benchmark
from posttrainbench.catalog import ResolvedModel, template_files
from posttrainbench.trial.layout import TrialPaths
from posttrainbench.trial.manifest import manifest
from posttrainbench.trial.prompt import hours_text, render
from posttrainbench.trial.spec import TrialSpec

__all__ = ["PreparedWorkspace", "prepare_workspace", "render_prompt", "write_task_files"]


@dataclass(frozen=True)
class PreparedWorkspace:
    """What prepare fixed: the deadline and the hashes of every harness-given file."""

    deadline: float
    given_files: dict[str, dict[str, object]]


def write_task_files(
    task_dir: Path, spec: TrialSpec, benchmark: Benchmark, model: ResolvedModel, deadline: float
) -> None:
    """Write what the agent gets in ``task/``: evaluate.py, the chat templates, timer.sh."""
    templates = task_dir / "templates"
    templates.mkdir(parents=True)
    for name, text in template_files().items():
        (templates / name).write_text(text, encoding="utf-8")
    (task_dir / "evaluate.py").write_text(
        render(
            "evaluate.py.j2",
            benchmark_id=spec.benchmark,
            benchmark_title=benchmark.title,
            family=model.family.value,
        ),
        encoding="utf-8",
    )
    timer = task_dir / "timer.sh"
    timer.write_text(render("timer.sh.j2", deadline=int(deadline)), encoding="utf-8")
    timer.chmod(0o755)


def render_prompt(
    spec: TrialSpec, benchmark: Benchmark, model: ResolvedModel, paths: TrialPaths
) -> str:
    """The agent's prompt for this trial."""
    return render(
        "prompt.md.j2",
        model_name=model.hf_id or model.path.name,
        model_path=str(model.path),
        benchmark_title=benchmark.title,
        default_limit=benchmark.default_limit or "the full test set",
        task_dir=str(paths.task_dir),
        final_model=str(paths.final_model),
        workspace=str(paths.workspace),
        gpus=spec.gpus,
        cpus=os.cpu_count() or 1,
        hours_text=hours_text(spec.hours),
        allowed_training_data_line=(
            f"Explicitly allowed training data: {benchmark.allowed_training_data}."
        ),
    )


def prepare_workspace(
    spec: TrialSpec, benchmark: Benchmark, model: ResolvedModel, paths: TrialPaths, now: float
) -> PreparedWorkspace:
    """Build the workspace from scratch (discarding a half-built one) and write the prompt.

    The workspace is assembled in a sibling folder and renamed into place, so a crash
    leaves either no workspace or a complete one.
    """
    deadline = now + spec.hours * 3600
    staging = paths.workspace.with_name("workspace.partial")
    for leftover in (staging, paths.workspace):
        shutil.rmtree(leftover, ignore_errors=True)
    write_task_files(staging / "task", spec, benchmark, model, deadline)
    given = manifest(staging / "task")
    staging.rename(paths.workspace)
    atomic_write_text(paths.prompt, render_prompt(spec, benchmark, model, paths))
    return PreparedWorkspace(deadline=deadline, given_files=given)
