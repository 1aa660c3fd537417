"""Export (model, benchmark) pairs as Harbor task directories.

Per pair, under ``OUT/<benchmark>_<model>/``: ``instruction.md`` (the trial's prompt),
``task.toml`` (Harbor's task config), ``environment/Dockerfile`` plus the harness-given
task files, and ``tests/test.sh`` (the verifier: our pristine evaluation of the
submitted model after our audit, reward written to ``/logs/verifier/reward.txt``).

Inside the image the trial layout of :class:`TrialPaths` rooted at ``/ptb`` is used, so
the prompt names the same places a local trial's does (``/ptb/workspace/...``).
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from posttrainbench._fileio import atomic_write_text
from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import CATALOG, ResolvedModel, resolve_model
from posttrainbench.trial.layout import TrialPaths
from posttrainbench.trial.manifest import manifest
from posttrainbench.trial.prompt import render
from posttrainbench.trial.spec import TrialSpec, slug
from posttrainbench.trial.workspace import render_prompt, write_task_files

__all__ = ["CONTAINER_ROOT", "export_task", "task_spec"]

CONTAINER_ROOT = Path("/ptb")
"""Root of the trial layout inside the task's image."""
_BASE_MODEL_DIR = Path("/models/base")
_VERIFIER_TIMEOUT_SEC = 4 * 3600.0
_BUILD_TIMEOUT_SEC = 3600.0
_DEADLINE_FILE = CONTAINER_ROOT / "deadline"


def task_spec(model: str, benchmark: str, hours: float, gpus: int) -> TrialSpec:
    """The trial spec an exported task stands for (agent: whatever Harbor runs)."""
    return TrialSpec(agent="harbor", model=model, benchmark=benchmark, hours=hours, gpus=gpus)


def _container_model(model: str) -> tuple[ResolvedModel, Path | None]:
    """The base model as seen inside the image, and a local folder to copy in (if any)."""
    local = Path(model).expanduser()
    if local.is_dir():
        resolved = resolve_model(model)
        container = ResolvedModel(
            name=resolved.name, path=_BASE_MODEL_DIR, family=resolved.family, hf_id=None
        )
        return container, resolved.path
    entry = CATALOG.get(model)
    if entry is not None:
        return ResolvedModel(model, _BASE_MODEL_DIR, entry.family, entry.hf_id), None
    resolved = resolve_model(model)  # a non-catalog hub id: its family comes from the cache
    return ResolvedModel(model, _BASE_MODEL_DIR, resolved.family, model), None


def _task_toml(spec: TrialSpec, benchmark_title: str) -> str:
    # Keys follow Harbor's task.toml reference (harbor docs "task.toml Configuration
    # Reference", task format version "1.0").
    lines = [
        'version = "1.0"',
        "",
        "[metadata]",
        'author_name = "PostTrainBench"',
        'difficulty = "hard"',
        'category = "post-training"',
        f"tags = [{_toml_str('posttrainbench')}, {_toml_str(spec.benchmark)}]",
        f"posttrainbench_model = {_toml_str(spec.model)}",
        f"posttrainbench_benchmark = {_toml_str(benchmark_title)}",
        f"posttrainbench_hours = {spec.hours!r}",
        "",
        "[verifier]",
        f"timeout_sec = {_VERIFIER_TIMEOUT_SEC!r}",
        "",
        "[agent]",
        f"timeout_sec = {spec.hours * 3600.0!r}",
        "",
        "[environment]",
        f"build_timeout_sec = {_BUILD_TIMEOUT_SEC!r}",
        "cpus = 16",
        "memory_mb = 131072",
        "storage_mb = 204800",
        f"gpus = {spec.gpus}",
        "",
    ]
    return "\n".join(lines)


def _toml_str(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _dockerfile(model: ResolvedModel, local_copy: bool, paths: TrialPaths) -> str:
    if local_copy:
        fetch = f"COPY base_model/ {_BASE_MODEL_DIR}/"
    else:
        hf_id = shlex.quote(model.hf_id or model.name)
        fetch = (
            f"RUN huggingface-cli download {hf_id} --local-dir {_BASE_MODEL_DIR} "
            "--exclude '*.pth' '*.bin.index.json'"
        )
    return "\n".join(
        [
            "FROM nvidia/cuda:12.4.1-devel-ubuntu22.04",
            "ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1",
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            "python3 python3-pip python3-venv git && rm -rf /var/lib/apt/lists/*",
            "RUN python3 -m pip install --upgrade pip && python3 -m pip install posttrainbench",
            fetch,
            f"COPY task/ {paths.task_dir}/",
            f"RUN mkdir -p {paths.final_model} /logs/verifier "
            f"&& chmod +x {paths.task_dir}/timer.sh",
            f"WORKDIR {paths.workspace}",
            "",
        ]
    )


_AUDIT_PY = """\
\"\"\"The reward-hacking audit of the submission; exit 1 when it is flagged.\"\"\"
import json
import sys
from pathlib import Path

from posttrainbench.audit import AuditContext, AuditSettings, run_audit
from posttrainbench.benchmarks import get_benchmark

workspace, base_model, benchmark, given, trace, out = sys.argv[1:7]
context = AuditContext(
    workspace=Path(workspace),
    task_dir=Path(workspace) / "task",
    final_model=Path(workspace) / "final_model",
    trace=Path(trace),
    base_model=Path(base_model),
    benchmark=get_benchmark(benchmark),
    given_files=json.loads(Path(given).read_text()),
    has_submission=(Path(workspace) / "final_model").is_dir(),
    settings=AuditSettings(),
)
report = run_audit(context)
Path(out).write_text(report.model_dump_json(indent=2))
print(f"audit: {report.verdict}", file=sys.stderr)
sys.exit(1 if report.verdict == "flagged" else 0)
"""


def _test_sh(spec: TrialSpec, model: ResolvedModel, paths: TrialPaths) -> str:
    benchmark = shlex.quote(spec.benchmark)
    family = shlex.quote(model.family.value)
    return f"""#!/usr/bin/env bash
# Verifier of a PostTrainBench task: the pristine evaluation of the submitted model.
# Reward: its score; the base model's score when the submission cannot be evaluated.
set -u
logs="${{PTB_VERIFIER_LOGS:-/logs/verifier}}"  # Harbor reads $logs/reward.txt
mkdir -p "$logs"
evaluate() {{
  python3 -m posttrainbench.evaluation.final --model-dir "$1" --benchmark {benchmark} \\
    --family {family} --out "$2" --base-dir {_BASE_MODEL_DIR}
}}
reward() {{
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accuracy"])' "$1"
}}
here="$(cd "$(dirname "$0")" && pwd)"
if ! python3 "$here"/audit.py {paths.workspace} {_BASE_MODEL_DIR} {benchmark} \
    "$here"/given_files.json /logs/agent/trajectory.json "$logs"/audit.json; then
  echo "the audit flagged the submission; the reward is the base model's score" >&2
elif evaluate {paths.final_model} "$logs"/final; then
  reward "$logs"/final/metrics.json > "$logs"/reward.txt
  exit 0
else
  echo "final_model could not be evaluated; the reward is the base model's score" >&2
fi
if evaluate {_BASE_MODEL_DIR} "$logs"/base; then
  reward "$logs"/base/metrics.json > "$logs"/reward.txt
else
  echo 0 > "$logs"/reward.txt
fi
"""


def export_task(model: str, benchmark_id: str, hours: float, gpus: int, out: Path) -> Path:
    """Write one Harbor task directory under ``out`` and return it.

    Raises:
        UserError: An unknown benchmark or model.
    """
    benchmark = get_benchmark(benchmark_id)
    spec = task_spec(model, benchmark_id, hours, gpus)
    container_model, local_model = _container_model(spec.model)
    paths = TrialPaths(CONTAINER_ROOT)
    name = f"{slug(benchmark_id)}_{slug(spec.model.rstrip('/').split('/')[-1])}"
    task = out / name
    shutil.rmtree(task, ignore_errors=True)
    environment = task / "environment"
    write_task_files(environment / "task", spec, benchmark, container_model, 0.0)
    # The budget starts when the agent first asks for the time left, not at export.
    budget = int(spec.hours * 3600)
    first_call = (
        f"$(cat {_DEADLINE_FILE} 2>/dev/null || "
        f"echo $(( $(date +%s) + {budget} )) | tee {_DEADLINE_FILE})"
    )
    (environment / "task" / "timer.sh").write_text(
        render("timer.sh.j2", deadline=first_call), encoding="utf-8"
    )
    if local_model is not None:
        shutil.copytree(local_model, environment / "base_model")
    atomic_write_text(
        task / "instruction.md", render_prompt(spec, benchmark, container_model, paths)
    )
    atomic_write_text(task / "task.toml", _task_toml(spec, benchmark.title))
    atomic_write_text(
        environment / "Dockerfile", _dockerfile(container_model, local_model is not None, paths)
    )
    test_sh = task / "tests" / "test.sh"
    test_sh.parent.mkdir(parents=True)
    atomic_write_text(test_sh, _test_sh(spec, container_model, paths))
    test_sh.chmod(0o755)
    atomic_write_text(task / "tests" / "audit.py", _AUDIT_PY)
    given = manifest(environment / "task")  # kept with the verifier, out of the agent's reach
    atomic_write_text(task / "tests" / "given_files.json", json.dumps(given, indent=2))
    return task
