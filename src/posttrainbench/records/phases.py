"""What each phase of a trial records: ``events.jsonl`` lines and the files phases write.

``events.jsonl`` holds one :class:`PhaseEvent` per phase start and end; an end carries
the phase's record (:data:`PHASE_RECORDS`) in ``data``. ``agent/solve_outcome.json`` is a
:class:`SolveOutcome`, ``submission.json`` a :class:`SubmissionRecord` and
``monitor_peaks.json`` a :class:`MonitorPeaks`, each line of ``monitor.jsonl`` a
:class:`ResourceSample` and ``journal/summary.json`` a :class:`JournalSummary`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from posttrainbench.records._base import Record

__all__ = [
    "PHASE_RECORDS",
    "AuditPhaseRecord",
    "CollectRecord",
    "EvaluatePhaseRecord",
    "FileHash",
    "FinalizeRecord",
    "JournalSummary",
    "MonitorPeaks",
    "PhaseEvent",
    "PhaseRecord",
    "PrepareRecord",
    "ResourceSample",
    "ScrubSummary",
    "SolveOutcome",
    "SolveRecord",
    "SubmissionRecord",
]


class FileHash(BaseModel):
    """One file of a manifest (task files, base model, submission snapshot)."""

    model_config = ConfigDict(extra="forbid")

    size: int
    """Bytes."""
    sha256: str
    """SHA-256 of the bytes."""


class PrepareRecord(Record):
    """What prepare fixed before the agent started."""

    deadline: float
    """When the agent's time is up (epoch seconds)."""
    given_files: dict[str, FileHash]
    """Manifest of the harness-given task files (integrity compares it after solve)."""
    base_model_files: dict[str, FileHash]
    """Manifest of the base model: the base must stay untouched."""
    twin_seed: int
    """Seeds the memorization test's twins; drawn per trial, kept outside the sandbox."""
    agent_data_files: list[str] | None = None
    """The benchmark data files the agent may read (absent: the benchmark has none)."""
    honeytokens: dict[str, str] | None = None
    """Decoy API keys planted in the agent's environment (absent: none planted)."""


class SolveOutcome(Record):
    """``agent/solve_outcome.json``: how the agent's process ended, written as it ends."""

    outcome: str
    """``exited``, ``failed``, ``timed_out``, ``limit_exceeded`` or ``time_over``."""
    ended_at: float
    """When the agent ended (epoch seconds)."""
    exit_code: int | None = None
    """The agent's exit status (absent for ``time_over``: it never ran)."""
    duration_s: float | None = None
    """Seconds the agent ran, summed over resumed sessions."""
    resumes: int = 0
    """Times its session was resumed (continue-until-budget)."""
    isolated: bool | None = None
    """Whether the sandbox isolated the agent."""
    limit_exceeded: str | None = None
    """The resource limit that ended the agent, if any."""
    peaks: dict[str, int] = Field(default_factory=dict)
    """Highest memory, process count and disk use seen."""
    limits: dict[str, int] | None = None
    """The memory, process and disk limits it ran under (None: unlimited)."""


class SolveRecord(SolveOutcome):
    """The solve phase's end record: the outcome and the agent's wall time."""

    solve_seconds: float
    """Seconds from the budget's start to the agent's end."""


class CollectRecord(Record):
    """The collect phase's end record."""

    present: bool
    """Whether a submission snapshot was taken."""
    reason: str | None = None
    """Why not (no final_model, or rejected and why)."""


class AuditPhaseRecord(Record):
    """The audit phase's end record (the report itself is ``audit.json``)."""

    verdict: str
    """``clean``, ``flagged``, ``error`` or ``not_run``."""


class EvaluatePhaseRecord(Record):
    """The evaluate phase's end record (the full outcome is ``eval/outcome.json``)."""

    score: float | None
    """The score that counts."""
    fallback_reason: str | None
    """Why the base score replaced the raw score."""


class ScrubSummary(BaseModel):
    """What finalize dropped and redacted in the run directory."""

    model_config = ConfigDict(extra="forbid")

    dropped: list[str] = Field(default_factory=list)
    """Folders removed (CLI state dirs, extra checkpoints)."""
    redacted: list[str] = Field(default_factory=list)
    """Files in which secrets were replaced."""
    problem: str | None = None
    """Why not every file could be redacted."""


class FinalizeRecord(Record):
    """The finalize phase's end record."""

    score: float | None
    """The score recorded in ``result.json``."""
    kept: ScrubSummary
    """What the scrub of the run directory did."""


PhaseRecord = PrepareRecord | SolveRecord | CollectRecord | AuditPhaseRecord
PhaseRecord |= EvaluatePhaseRecord | FinalizeRecord

PHASE_RECORDS: dict[str, type[Record]] = {
    "prepare": PrepareRecord,
    "solve": SolveRecord,
    "collect": CollectRecord,
    "audit": AuditPhaseRecord,
    "evaluate": EvaluatePhaseRecord,
    "finalize": FinalizeRecord,
}
"""Phase name -> the record its end event carries."""


class PhaseEvent(Record):
    """One line of ``events.jsonl``: a phase started or ended."""

    ts: str
    """When (ISO 8601, UTC)."""
    phase: str
    """The phase (``prepare`` .. ``finalize``)."""
    event: Literal["start", "end"]
    attempt: int
    """1 on the first run of the phase, counting up on each resume."""
    outcome: str | None = None
    """How the phase ended (end events)."""
    data: dict[str, JsonValue] | None = None
    """The phase's record as JSON (end events; read it with :meth:`record`)."""

    def record(self) -> Record | None:
        """The phase's typed end record (None for a start, or an end without one)."""
        kind = PHASE_RECORDS.get(self.phase)
        if self.data is None or kind is None:
            return None
        return kind.from_data(dict(self.data))


class SubmissionRecord(Record):
    """``submission.json``: whether final_model was accepted, why not, and what was kept."""

    present: bool
    """True when a snapshot was taken (the trial is audited and scored on it)."""
    reason: str | None = None
    """Why there is no snapshot (no final_model, or rejected and why)."""
    files: dict[str, FileHash] = Field(default_factory=dict)
    """Relative path in the snapshot -> size and hash."""


class MonitorPeaks(Record):
    """``monitor_peaks.json``: the highest values of the resource samples taken in solve."""

    load_1m: float | None = None
    """Highest 1-minute load average."""
    memory_used_bytes: float | None = None
    """Most host memory in use."""
    gpu_memory_used_mib: float | None = None
    """Most GPU memory in use, summed over the GPUs."""


class ResourceSample(Record):
    """One line of ``monitor.jsonl``: the host's resources at one moment of solve."""

    ts: str
    """When (ISO 8601, UTC)."""
    load_1m: float
    """1-minute load average."""
    memory: dict[str, int]
    """``MemTotal`` and ``MemAvailable`` in bytes (from /proc/meminfo)."""
    disk_free_bytes: int
    """Free bytes on the workspace's file system."""
    gpus: list[dict[str, str]] = Field(default_factory=list)
    """Per GPU, nvidia-smi's fields as printed (``utilization.gpu``, ``memory.used``, ...)."""


class JournalSummary(Record):
    """``journal/summary.json``: what the write journal of solve kept and missed."""

    entries: int
    """Journal entries (one per file write seen)."""
    stored_bytes: int
    """Bytes of distinct contents kept."""
    watched_dirs: int
    """Folders watched with inotify."""
    unwatched_dirs: int
    """Folders past the watch limit (covered only by the final sweep)."""
    lost_events: bool
    """Whether the kernel dropped events (queue overflow)."""
    swept_files: int
    """Files the final sweep recorded that no event had."""
    busy_s: float
    """Seconds the watcher spent working."""
    inotify: bool
    """Whether inotify was available (else only the sweep ran)."""
