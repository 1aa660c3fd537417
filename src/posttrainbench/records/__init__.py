"""The JSON records a trial writes, as pydantic models with a schema version.

Every file of a run directory that is JSON has its model here (or, for records that name
types of upper packages, in :mod:`posttrainbench.trial.records`, which re-exports these):
the writer and every reader use the same class. This package sits below every other one
(it imports only pydantic), so the audit, results, the site and the exports read the same
models the runner writes. Records older than ``schema_version`` read as version 0 and are
migrated in one place, :func:`migrate`.
"""

from posttrainbench.records._base import MIGRATIONS, SCHEMA_VERSION, Record, migrate
from posttrainbench.records.audit import AuditReport, Finding, Severity, Verdict
from posttrainbench.records.phases import (
    PHASE_RECORDS,
    AuditPhaseRecord,
    CollectRecord,
    EvaluatePhaseRecord,
    FileHash,
    FinalizeRecord,
    JournalSummary,
    MonitorPeaks,
    PhaseEvent,
    PhaseRecord,
    PrepareRecord,
    ResourceSample,
    ScrubSummary,
    SolveOutcome,
    SolveRecord,
    SubmissionRecord,
)

__all__ = [
    "MIGRATIONS",
    "PHASE_RECORDS",
    "SCHEMA_VERSION",
    "AuditPhaseRecord",
    "AuditReport",
    "CollectRecord",
    "EvaluatePhaseRecord",
    "FileHash",
    "FinalizeRecord",
    "Finding",
    "JournalSummary",
    "MonitorPeaks",
    "PhaseEvent",
    "PhaseRecord",
    "PrepareRecord",
    "Record",
    "ResourceSample",
    "ScrubSummary",
    "Severity",
    "SolveOutcome",
    "SolveRecord",
    "SubmissionRecord",
    "Verdict",
    "migrate",
]
