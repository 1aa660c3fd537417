"""Re-score stored completions with the current scorers, without generating anything.

A trial's final evaluation keeps its inspect log (every completion and its verdict) next to
``metrics.json``. :func:`rescore_trial` runs the benchmark's *current* scorer over those
completions, lists the samples whose verdict changed, and with ``write=True`` replaces the
stored metrics (``metrics.json``, the trial's evaluation outcome and ``result.json``), so a
result survives a scorer fix. Judge-scored benchmarks are not re-scored (that would call the
judge again); they are reported as skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from posttrainbench._fileio import atomic_write_text
from posttrainbench.benchmarks import get_benchmark
from posttrainbench.evaluation import Metrics
from posttrainbench.evaluation.protocol import seed_scores
from posttrainbench.trial.layout import TrialPaths

__all__ = ["RescoreReport", "SampleChange", "rescore_trial"]


class SampleChange(BaseModel):
    """One sample whose verdict differs under the current scorer."""

    model_config = ConfigDict(extra="forbid")

    sample_id: str
    old: str
    """The stored verdict."""
    new: str
    """The current scorer's verdict."""
    answer: str | None = None
    """What the current scorer read from the completion."""


class RescoreReport(BaseModel):
    """The outcome of re-scoring one trial's final evaluation."""

    model_config = ConfigDict(extra="forbid")

    trial: str
    """The trial folder."""
    benchmark: str = ""
    old_accuracy: float | None = None
    new_accuracy: float | None = None
    samples: int = 0
    changed: list[SampleChange] = []
    written: bool = False
    """Whether the stored metrics were replaced (``--write``)."""
    skipped: str | None = None
    """Why the trial was not re-scored (no stored evaluation, a judged benchmark)."""


def _verdict(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _rescored(log: Any, scorer: Any) -> Any:
    from inspect_ai import score

    return score(log, scorer, action="overwrite", display="none")


def _first_score(sample: Any) -> Any:
    return next(iter((sample.scores or {}).values()))


def rescore_trial(trial: Path, *, write: bool = False) -> RescoreReport:
    """Re-score ``trial``'s final evaluation; ``write`` replaces the stored metrics."""
    from inspect_ai.log import read_eval_log

    paths = TrialPaths(trial)
    stored = sorted(paths.eval_dir.glob("attempt-*/metrics.json"))
    if not stored:
        return RescoreReport(trial=str(trial), skipped="no stored final evaluation")
    metrics_path = stored[-1]
    metrics = Metrics.model_validate_json(metrics_path.read_text(encoding="utf-8"))
    benchmark = get_benchmark(metrics.benchmark)
    report = RescoreReport(trial=str(trial), benchmark=benchmark.id, old_accuracy=metrics.accuracy)
    if benchmark.judged:
        return report.model_copy(
            update={"skipped": "judge-scored: re-scoring would call the judge"}
        )
    if metrics.log_file is None:
        return report.model_copy(update={"skipped": "no inspect log recorded"})
    log_path = metrics_path.parent / "logs" / metrics.log_file
    old_log = read_eval_log(str(log_path))
    new_log = _rescored(old_log, benchmark.task(limit=1).scorer)
    changed = []
    for old, new in zip(old_log.samples or [], new_log.samples or [], strict=True):
        before, after = _first_score(old), _first_score(new)
        if _verdict(before.value) != _verdict(after.value):
            changed.append(
                SampleChange(
                    sample_id=str(old.id),
                    old=_verdict(before.value),
                    new=_verdict(after.value),
                    answer=after.answer,
                )
            )
    updated = _new_metrics(metrics, new_log)
    report = report.model_copy(
        update={
            "new_accuracy": updated.accuracy,
            "samples": len(old_log.samples or []),
            "changed": changed,
        }
    )
    if write:
        from inspect_ai.log import write_eval_log

        write_eval_log(new_log, str(log_path))
        atomic_write_text(metrics_path, updated.model_dump_json(indent=2))
        _update_trial_records(paths, updated)
        report = report.model_copy(update={"written": True})
    return report


def _new_metrics(metrics: Metrics, log: Any) -> Metrics:
    if len(metrics.seeds) > 1:
        per_seed = seed_scores(log)
        errors = [score.stderr for score in per_seed if score.stderr is not None]
        return metrics.model_copy(
            update={
                "accuracy": sum(score.accuracy for score in per_seed) / len(per_seed),
                "stderr": sum(errors) / len(errors) if errors else None,
                "per_seed": [score.model_dump() for score in per_seed],
            }
        )
    values = log.results.scores[0].metrics
    stderr = values.get("stderr")
    return metrics.model_copy(
        update={
            "accuracy": float(values["accuracy"].value),
            "stderr": float(stderr.value) if stderr is not None else None,
        }
    )


def _update_trial_records(paths: TrialPaths, metrics: Metrics) -> None:
    """Carry the new raw score into the evaluation outcome and ``result.json``."""
    outcome_path = paths.eval_outcome
    if not outcome_path.is_file():
        return
    outcome = json.loads(outcome_path.read_text(encoding="utf-8"))
    outcome["raw"] = metrics.model_dump()
    if not outcome.get("fallback_reason"):
        outcome["score"] = metrics.accuracy
    atomic_write_text(outcome_path, json.dumps(outcome, indent=2))
    result_path = paths.result
    if result_path.is_file():
        result = json.loads(result_path.read_text(encoding="utf-8"))
        result.update(raw_score=metrics.accuracy, stderr=metrics.stderr, score=outcome["score"])
        atomic_write_text(result_path, json.dumps(result, indent=2))
