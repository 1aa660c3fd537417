"""Every JSON record of a trial folder (see :class:`~posttrainbench.trial.layout.TrialPaths`).

The records that only the trial package reads and that name its types (the spec, the
evaluation's metrics) are defined here; those also read below the trial package (the
phase events, the submission, the audit report, the result) live in
:mod:`posttrainbench.records` and :mod:`posttrainbench.results` and are re-exported here,
so this module is the one list of what a trial writes:

==============================  ==========================================
``trial.json``                  :class:`TrialRecord`
``events.jsonl`` (each line)    :class:`PhaseEvent` (its ``data``: :data:`PHASE_RECORDS`)
``agent/solve_outcome.json``    :class:`SolveOutcome`
``submission.json``             :class:`SubmissionRecord`
``monitor_peaks.json``          :class:`MonitorPeaks`
``audit.json``                  :class:`AuditReport`
``eval/outcome.json``           :class:`EvalOutcome`
``result.json``                 :class:`TrialResult`
==============================  ==========================================
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from posttrainbench.benchmarks.data import LockEntry
from posttrainbench.evaluation import Metrics
from posttrainbench.records import (
    PHASE_RECORDS,
    AuditPhaseRecord,
    AuditReport,
    CollectRecord,
    EvaluatePhaseRecord,
    FileHash,
    FinalizeRecord,
    MonitorPeaks,
    PhaseEvent,
    PhaseRecord,
    PrepareRecord,
    Record,
    SolveOutcome,
    SolveRecord,
    SubmissionRecord,
)
from posttrainbench.results import TrialResult
from posttrainbench.trial.spec import TrialSpec

__all__ = [
    "PHASE_RECORDS",
    "AuditPhaseRecord",
    "AuditReport",
    "CollectRecord",
    "EvalOutcome",
    "EvaluatePhaseRecord",
    "FileHash",
    "FinalizeRecord",
    "MonitorPeaks",
    "PhaseEvent",
    "PhaseRecord",
    "PrepareRecord",
    "Provenance",
    "Record",
    "SolveOutcome",
    "SolveRecord",
    "SubmissionRecord",
    "TrialRecord",
    "TrialResult",
    "read_format_version",
]


class Provenance(BaseModel):
    """Versions of the harness and its key dependencies, Python, host and git revision."""

    model_config = ConfigDict(extra="forbid")

    packages: dict[str, str | None]
    """Distribution name -> installed version (None: not installed)."""
    python: str
    platform: str
    host: str
    harness_git_revision: str | None
    """The harness checkout's commit (None outside a git checkout)."""


class TrialRecord(Record):
    """``trial.json``: the spec and provenance, written once when the trial is created."""

    format_version: int
    """The run-directory layout (``RUN_FORMAT_VERSION``) the folder was written in."""
    trial_id: str
    spec: TrialSpec
    created_at: str
    """When the trial folder was created (ISO 8601, UTC)."""
    model_path: str
    """The base model's folder on the host that ran the trial."""
    model_family: str
    """The base model's family (chat template, evaluation settings)."""
    sandbox: str
    """The sandbox backend the agent ran in."""
    isolated: bool
    """Whether that backend isolates the agent."""
    provenance: Provenance
    data_lock: list[LockEntry]
    """The data.lock entries evaluation verifies the benchmark's files against."""


class EvalOutcome(Record):
    """``eval/outcome.json``: what the evaluate phase concluded."""

    score: float | None
    """The score that counts: the raw score, or the base score after a fallback."""
    data_lock: list[LockEntry]
    """The data.lock entries of the files the evaluation read (empty: no lock)."""
    raw: Metrics | None
    """The submission's metrics (None: not evaluated, or the evaluation failed)."""
    base: Metrics | None
    """The base model's metrics, computed when a fallback needed them."""
    fallback_reason: str | None
    """Why the base score replaced the raw score (no model, failed evaluation, flagged)."""


def read_format_version(trial_json: Path) -> object:
    """The run-directory format of ``trial.json``, read before the record is parsed.

    A folder of another layout need not parse as a :class:`TrialRecord`; its
    ``format_version`` alone says which harness can read it (None when absent).
    """
    data = json.loads(trial_json.read_text(encoding="utf-8"))
    return data.get("format_version") if isinstance(data, dict) else None
