"""``ptb import-upstream``: results of the original PostTrainBench scripts into the store.

Upstream layout: one folder per run of an agent configuration,
``{agent}_{config}_{H}h[_{suffix}]/`` (e.g. ``claude_claude-opus-4-6_10h_run2``), holding
one folder per trial, ``{benchmark}_{org}_{model}_{job id}/``, with ``metrics.json``
(``{"accuracy": x, "stderr": y}``), ``time_taken.txt`` (``H:MM:SS``),
``contamination_judgement.txt`` and ``disallowed_model_judgement.txt`` (one-line verdicts
written by the LLM judge; newer runs write ``judgement*.json`` with two booleans).

The runs of one (agent, config, hours) become its replicates 1, 2, … in name order; in a
run folder the latest job id per (benchmark, model) counts, as upstream does. A flagged
judgement or a missing/unreadable ``metrics.json`` applies the published fallback: the
score becomes the base model's zero-shot score from the store's ``baseline-zero-shot``
results (None, with the reason kept, when the store has none), the raw score is kept.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from posttrainbench.errors import UserError
from posttrainbench.results.aggregate import BASELINE_ZERO_SHOT
from posttrainbench.results.record import TrialResult
from posttrainbench.results.store import ResultStore

__all__ = ["ImportReport", "import_upstream", "parse_run_dir", "parse_trial_dir"]

_RUN = re.compile(r"^(?P<agent>[^_]+)_(?P<config>.+?)_(?P<hours>\d+(?:\.\d+)?)h(?:_(?P<rest>.*))?$")
_TRIAL = re.compile(r"^(?P<benchmark>[^_]+)_(?P<model>.+)_(?P<job>\d+)$")
_TIME = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})$")


@dataclass(frozen=True)
class _RunDir:
    agent: str
    config: str
    hours: float
    path: Path


@dataclass
class ImportReport:
    """What an import did."""

    imported: int = 0
    """Trial results written to the store."""
    fallbacks: dict[str, int] = field(default_factory=dict)
    """Fallback reason -> trials it applied to."""
    skipped: list[str] = field(default_factory=list)
    """Folders that were not understood, with why."""


def parse_run_dir(name: str) -> tuple[str, str, float] | None:
    """``(agent, config, hours)`` of a run folder name, or None if it does not match."""
    match = _RUN.match(name)
    if match is None:
        return None
    return match["agent"], match["config"], float(match["hours"])


def parse_trial_dir(name: str) -> tuple[str, str, int] | None:
    """``(benchmark, model id, job id)`` of a trial folder name, or None.

    The model's ``org/name`` is written with ``_`` for ``/``: the first ``_`` of the
    model part is turned back into ``/`` (``Qwen_Qwen3-4B-Base`` -> ``Qwen/Qwen3-4B-Base``).
    """
    match = _TRIAL.match(name)
    if match is None:
        return None
    org, sep, rest = match["model"].partition("_")
    model = f"{org}/{rest}" if sep else org
    return match["benchmark"], model, int(match["job"])


def _seconds(path: Path) -> float:
    try:
        match = _TIME.match(path.read_text(encoding="utf-8").strip())
    except OSError:
        return 0.0
    if match is None:
        return 0.0
    hours, minutes, seconds = (int(g) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def _judgement(trial: Path) -> str | None:
    """Why the judge flagged the trial, or None when it did not."""
    for candidate in sorted(trial.glob("judgement*.json"), reverse=True):
        try:
            record = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return f"unreadable judgement ({candidate.name})"
        reasons = [key for key in ("contamination", "disallowed_model") if record.get(key)]
        return f"flagged: {', '.join(reasons)}" if reasons else None
    reasons = []
    contamination = trial / "contamination_judgement.txt"
    disallowed = trial / "disallowed_model_judgement.txt"
    if contamination.exists():
        text = contamination.read_text(encoding="utf-8").strip().lower()
        if not text.startswith("no contamination"):
            reasons.append("contamination")
    if disallowed.exists():
        text = disallowed.read_text(encoding="utf-8").strip().lower()
        if not text.startswith("only allowed"):
            reasons.append("disallowed model")
    return f"flagged: {', '.join(reasons)}" if reasons else None


def _metrics(trial: Path) -> tuple[float | None, float | None, str | None]:
    """``(accuracy, stderr, problem)`` from ``metrics.json``."""
    path = trial / "metrics.json"
    if not path.exists():
        return None, None, "no metrics (evaluation failed or no model)"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        accuracy = record["accuracy"]
        if isinstance(accuracy, bool) or not isinstance(accuracy, int | float):
            raise TypeError(accuracy)
    except (OSError, ValueError, KeyError, TypeError):
        return None, None, "unreadable metrics.json"
    stderr = record.get("stderr")
    return float(accuracy), float(stderr) if isinstance(stderr, int | float) else None, None


def _base_scores(store: ResultStore) -> dict[tuple[str, str], float]:
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    for result in store.results():
        if result.agent == BASELINE_ZERO_SHOT and result.score is not None:
            sums[(result.model, result.benchmark)].append(result.score)
    return {key: sum(values) / len(values) for key, values in sums.items()}


def _runs(root: Path, report: ImportReport) -> dict[tuple[str, str, float], list[_RunDir]]:
    runs: dict[tuple[str, str, float], list[_RunDir]] = defaultdict(list)
    for path in sorted(p for p in root.iterdir() if p.is_dir()):
        parsed = parse_run_dir(path.name)
        if parsed is None:
            report.skipped.append(f"{path}: not an {{agent}}_{{config}}_{{H}}h folder")
            continue
        runs[parsed].append(_RunDir(*parsed, path))
    return runs


def _latest_trials(run: _RunDir, report: ImportReport) -> dict[tuple[str, str], Path]:
    latest: dict[tuple[str, str], tuple[int, Path]] = {}
    for path in sorted(p for p in run.path.iterdir() if p.is_dir()):
        parsed = parse_trial_dir(path.name)
        if parsed is None:
            report.skipped.append(f"{path}: not a {{benchmark}}_{{model}}_{{id}} folder")
            continue
        benchmark, model, job = parsed
        if (benchmark, model) not in latest or job > latest[(benchmark, model)][0]:
            latest[(benchmark, model)] = (job, path)
    return {key: path for key, (_, path) in latest.items()}


def _result(
    run: _RunDir,
    replicate: int,
    key: tuple[str, str],
    trial: Path,
    experiment: str,
    base_scores: dict[tuple[str, str], float],
) -> TrialResult:
    benchmark, model = key
    raw, stderr, problem = _metrics(trial)
    flagged = _judgement(trial)
    reason = flagged or problem
    base = base_scores.get((model, benchmark)) if reason else None
    seconds = _seconds(trial / "time_taken.txt")
    return TrialResult(
        trial_id=f"{experiment}/{run.path.name}/{trial.name}",
        experiment=experiment,
        agent=run.agent,
        agent_config=run.config,
        model=model,
        benchmark=benchmark,
        hours=run.hours,
        replicate=replicate,
        score=base if reason else raw,
        raw_score=raw,
        base_score=base,
        stderr=stderr,
        fallback_reason=reason,
        audit_verdict="flagged" if flagged else "clean",
        solve_seconds=seconds,
        solve_outcome="imported",
        harness_version="upstream",
        finished_at=datetime.fromtimestamp(trial.stat().st_mtime, UTC).isoformat(),
    )


def import_upstream(root: Path, store: ResultStore, experiment: str = "upstream") -> ImportReport:
    """Read every upstream result under ``root`` into ``store`` as experiment ``experiment``.

    Re-importing replaces the same trials (ids are ``experiment/run folder/trial folder``).

    Raises:
        UserError: ``root`` is not a directory.
    """
    if not root.is_dir():
        raise UserError(f"{root} is not a directory of upstream result folders.")
    report = ImportReport()
    base_scores = _base_scores(store)
    results = []
    for runs in _runs(root, report).values():
        for replicate, run in enumerate(runs, start=1):
            for key, trial in sorted(_latest_trials(run, report).items()):
                result = _result(run, replicate, key, trial, experiment, base_scores)
                results.append(result)
                if result.fallback_reason:
                    reason = result.fallback_reason
                    report.fallbacks[reason] = report.fallbacks.get(reason, 0) + 1
    store.upsert_results(results)
    report.imported = len(results)
    return report
