"""Final scoring.

The pristine evaluation runs in its own process with a retry ladder; the base model's
score, used as the fallback, is computed once and cached.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from posttrainbench import __version__
from posttrainbench._fileio import atomic_write_text
from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily, ResolvedModel
from posttrainbench.evaluation import Metrics
from posttrainbench.evaluation.final import EXIT_MODEL_UNUSABLE
from posttrainbench.evaluation.progress import PROGRESS_PREFIX
from posttrainbench.runs import RunsLayout
from posttrainbench.trial.eval_process import run_evaluation_process
from posttrainbench.trial.follow import LineFollower
from posttrainbench.trial.manifest import fingerprint

__all__ = ["EvaluationOutcome", "base_score", "evaluate_submission"]

ATTEMPT_TIMEOUT_S = 8 * 3600
"""Upper bound on one evaluation attempt, as upstream."""


@dataclass(frozen=True)
class EvaluationOutcome:
    """Metrics when the evaluation succeeded, else why it did not."""

    metrics: Metrics | None
    error: str | None


def _attempt(
    model_dir: Path,
    benchmark: str,
    family: ModelFamily,
    out: Path,
    max_tokens: int,
    few_shot: int = 0,
    base_dir: Path | None = None,
    protocol: str = "paper",
    log: Callable[[str], None] | None = None,
) -> tuple[Metrics | None, str, bool]:
    """One evaluation in a fresh process: (metrics, error, whether retrying can help).

    The process is forked from a warm zygote (``trial.eval_process``), not started cold.
    """
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    argv = [
        f"--model-dir={model_dir}",
        f"--benchmark={benchmark}",
        f"--family={family.value}",
        f"--out={out}",
        f"--max-tokens={max_tokens}",
    ]
    if few_shot:
        argv.append(f"--few-shot={few_shot}")
    if base_dir is not None:
        argv.append(f"--base-dir={base_dir}")
    argv.append(f"--protocol={protocol}")
    log_path = out / "process.log"
    log_path.touch()
    progress = LineFollower(log_path, log, PROGRESS_PREFIX) if log else nullcontext()
    with progress:
        code = run_evaluation_process(argv, log_path, ATTEMPT_TIMEOUT_S)
    if code is None:
        return None, f"timed out after {ATTEMPT_TIMEOUT_S} s", True
    if code == 0:
        return Metrics.model_validate_json((out / "metrics.json").read_text()), "", False
    if code == EXIT_MODEL_UNUSABLE:
        error = json.loads((out / "error.json").read_text())["error"]
        return None, f"final_model unusable: {error}", False
    tail = (out / "process.log").read_text(errors="replace")[-2000:]
    return None, f"evaluation process exited with {code}: {tail.strip()}", True


def evaluate_submission(
    model_dir: Path,
    benchmark_name: str,
    family: ModelFamily,
    eval_dir: Path,
    log: Callable[[str], None],
    *,
    few_shot: int = 0,
    base_dir: Path | None = None,
    protocol: str = "paper",
) -> EvaluationOutcome:
    """Evaluate on the full test split, retrying with smaller generation limits on failure.

    ``benchmark_name`` is what the trial spec names (a registry id or ``module:Class``);
    ``few_shot`` examples from allowed data precede each question (baseline rows only);
    ``base_dir`` is the base model, whose tokenizer and generation config evaluation uses;
    ``protocol`` is ``paper`` or ``greedy`` (see ``posttrainbench.evaluation.protocol``).
    """
    benchmark = get_benchmark(benchmark_name)
    ladder = (benchmark.generation.max_tokens, *benchmark.generation.fallback_max_tokens)
    error = ""
    for number, max_tokens in enumerate(ladder, start=1):
        log(f"evaluating {model_dir.name} on {benchmark.id} (attempt {number}/{len(ladder)})")
        out = eval_dir / f"attempt-{number}"
        metrics, error, retry = _attempt(
            model_dir,
            benchmark_name,
            family,
            out,
            max_tokens,
            few_shot,
            base_dir=base_dir,
            protocol=protocol,
            log=log,
        )
        if metrics is not None:
            return EvaluationOutcome(metrics=metrics, error=None)
        if not retry:
            break
    return EvaluationOutcome(metrics=None, error=error)


def base_score(
    model: ResolvedModel,
    benchmark_name: str,
    runs_root: Path,
    log: Callable[[str], None],
    protocol: str = "paper",
) -> Metrics | None:
    """The base model's score on ``benchmark``, computed once and cached under the runs root.

    The cache key covers the model's content, the benchmark and the harness version; a file
    lock keeps concurrent trials from computing the same baseline twice.
    """
    key = hashlib.sha256(
        f"{fingerprint(model.path)}|{benchmark_name}|{model.family}|{__version__}|{protocol}".encode()
    ).hexdigest()[:16]
    benchmark_id = get_benchmark(benchmark_name).id
    folder = RunsLayout(runs_root).base_scores / f"{benchmark_id}-{model.slug}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    cached = folder / "metrics.json"
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cached.exists():
            return Metrics.model_validate_json(cached.read_text())
        outcome = evaluate_submission(
            model.path,
            benchmark_name,
            model.family,
            folder,
            log,
            base_dir=model.path,
            protocol=protocol,
        )
        if outcome.metrics is None:
            log(f"base model could not be evaluated: {outcome.error}")
            return None
        atomic_write_text(cached, outcome.metrics.model_dump_json(indent=2))
        return outcome.metrics
