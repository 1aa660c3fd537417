"""Reading what a trial left in its run directory, for the site and the live dashboard.

``results`` sits below ``trial`` in the import order, so this module states the files it
reads as a protocol, :class:`TrialFiles`, and callers pass the trial's ``trial.TrialPaths``
(which owns every file name); this module only reads them. Every reader
tolerates missing or torn files: a trial in progress has written only some of them, and an
agent may have written anything into its trace.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AuditSummary",
    "MonitorSample",
    "TraceLine",
    "TrialFiles",
    "read_audit",
    "read_deadline",
    "read_monitor",
    "read_spec",
    "read_trace",
    "tail_lines",
]

_TEXT_LIMIT = 2_000
"""Characters kept of one trace message or observation (the page stays readable)."""


@runtime_checkable
class TrialFiles(Protocol):
    """The files of one run directory that the pages read (``trial.TrialPaths`` has them)."""

    @property
    def trial_json(self) -> Path:
        """Spec and provenance."""

    @property
    def events(self) -> Path:
        """Phase events."""

    @property
    def audit(self) -> Path:
        """Findings and verdict."""

    @property
    def trace(self) -> Path:
        """The normalised trace."""

    @property
    def raw_stream(self) -> Path:
        """What the agent printed, timestamped."""

    @property
    def monitor(self) -> Path:
        """Resource samples."""


class AuditSummary(BaseModel):
    """``audit.json`` as shown: the verdict and every finding with its evidence."""

    model_config = ConfigDict(extra="ignore")

    verdict: str = "missing"
    """``clean``, ``flagged``, ``error``, ``not_run``; ``missing`` when there is no file."""
    note: str = ""
    """The auditor's remark."""
    detectors_run: list[str] = Field(default_factory=list)
    """Detectors that ran."""
    findings: list[dict[str, Any]] = Field(default_factory=list)
    """Findings as recorded: detector, severity, message, evidence."""


class TraceLine(BaseModel):
    """One readable line of what the agent did."""

    ts: str
    """When (as recorded; may be empty)."""
    kind: str
    """``agent``, ``tool``, ``observation``, ``user``, ``system``, ``stdout``, ``stderr``."""
    text: str
    """The content, shortened to a readable length."""


class MonitorSample(BaseModel):
    """One resource sample, flattened for charts."""

    ts: str
    """Sample time (ISO 8601)."""
    load: float | None
    """1-minute load average."""
    memory_used: float | None
    """Fraction of host memory in use."""
    gpu_util: float | None
    """Mean GPU utilisation over the GPUs, 0..100."""
    gpu_memory: float | None
    """Fraction of GPU memory in use over the GPUs."""


def _shorten(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + " …[cut]"


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_spec(files: TrialFiles) -> dict[str, Any]:
    """The trial spec recorded in ``trial.json`` (empty when absent)."""
    record = _json_file(files.trial_json)
    spec = record.get("spec") if isinstance(record, dict) else None
    return spec if isinstance(spec, dict) else {}


def read_audit(files: TrialFiles) -> AuditSummary:
    """The audit verdict and findings (``missing`` verdict when there is no report)."""
    record = _json_file(files.audit)
    if not isinstance(record, dict):
        return AuditSummary()
    try:
        return AuditSummary.model_validate(record)
    except ValueError:
        return AuditSummary(verdict="unreadable", note=f"{files.audit} does not parse")


def read_deadline(files: TrialFiles) -> float | None:
    """The solve deadline (epoch seconds) recorded when the workspace was prepared."""
    for record in _jsonl_tail(files.events, 1 << 20):
        data = record.get("data")
        if record.get("phase") == "prepare" and isinstance(data, dict) and "deadline" in data:
            try:
                return float(data["deadline"])
            except (TypeError, ValueError):
                return None
    return None


def tail_lines(path: Path, max_bytes: int) -> list[str]:
    """The complete lines in the last ``max_bytes`` of ``path`` (none if it is absent)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - max_bytes)
            handle.seek(start)
            data = handle.read()
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[1:] if start > 0 else lines


def _jsonl_tail(path: Path, max_bytes: int) -> list[dict[str, Any]]:
    records = []
    for line in tail_lines(path, max_bytes):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_monitor(files: TrialFiles, max_bytes: int = 4 << 20) -> list[MonitorSample]:
    """Resource samples from ``monitor.jsonl`` (the last ``max_bytes`` of it)."""
    return [_sample(record) for record in _jsonl_tail(files.monitor, max_bytes)]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _sample(record: dict[str, Any]) -> MonitorSample:
    memory = record.get("memory")
    if not isinstance(memory, dict):
        memory = {}
    total, available = _number(memory.get("MemTotal")), _number(memory.get("MemAvailable"))
    used = 1 - available / total if total and available is not None else None
    gpus = [g for g in record.get("gpus") or [] if isinstance(g, dict)]
    utils = [u for u in (_number(g.get("utilization.gpu")) for g in gpus) if u is not None]
    memories = [
        m / t
        for m, t in ((_number(g.get("memory.used")), _number(g.get("memory.total"))) for g in gpus)
        if m is not None and t
    ]
    return MonitorSample(
        ts=str(record.get("ts", "")),
        load=_number(record.get("load_1m")),
        memory_used=used,
        gpu_util=sum(utils) / len(utils) if utils else None,
        gpu_memory=sum(memories) / len(memories) if memories else None,
    )


def read_trace(files: TrialFiles, limit: int = 200) -> list[TraceLine]:
    """The last ``limit`` readable lines: the normalised trace if present, else the raw tail."""
    record = _json_file(files.trace)
    if isinstance(record, dict) and isinstance(record.get("steps"), list):
        lines = [line for step in record["steps"] for line in _step_lines(step)]
        return lines[-limit:]
    raw = _jsonl_tail(files.raw_stream, 256 * 1024)[-limit:]
    return [
        TraceLine(
            ts=str(r.get("ts", "")),
            kind=str(r.get("stream", "stdout")),
            text=_shorten(str(r.get("line", ""))),
        )
        for r in raw
    ]


def _step_lines(step: Any) -> list[TraceLine]:
    if not isinstance(step, dict):
        return []
    ts, source = str(step.get("timestamp") or ""), str(step.get("source", "system"))
    lines = []
    if step.get("message"):
        lines.append(TraceLine(ts=ts, kind=source, text=_shorten(str(step["message"]))))
    for call in step.get("tool_calls") or []:
        if isinstance(call, dict):
            arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False)
            text = f"{call.get('function_name', '?')}({arguments})"
            lines.append(TraceLine(ts=ts, kind="tool", text=_shorten(text)))
    observation = step.get("observation")
    results = observation.get("results", []) if isinstance(observation, dict) else []
    for result in results:
        if isinstance(result, dict) and result.get("content"):
            text = _shorten(str(result["content"]))
            lines.append(TraceLine(ts=ts, kind="observation", text=text))
    return lines
