"""``audit.json``: findings with evidence, and the verdict (written by ``audit``, read by all)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from posttrainbench.records._base import Record

__all__ = ["AuditReport", "Finding", "Severity", "Verdict"]

Verdict = Literal["clean", "flagged", "error", "not_run"]
Severity = Literal["info", "warning", "flag"]


class Finding(BaseModel):
    """One thing a detector found, with the evidence that supports it."""

    model_config = ConfigDict(extra="forbid")

    detector: str
    """Detector that produced the finding."""
    severity: Severity
    """``flag`` makes the trial flagged; ``warning`` and ``info`` are shown, never scored."""
    message: str
    """One line a reader understands without the evidence."""
    evidence: Mapping[str, JsonValue] = Field(default_factory=dict)
    """File paths, line numbers, matched item ids, overlaps, hashes: whatever lets a
    reader check the claim."""


class AuditReport(Record):
    """Findings of every detector and the verdict that decides the score."""

    verdict: Verdict
    """``flagged`` and ``error`` replace the score with the base score; ``not_run`` leaves it."""
    detectors_run: list[str] = Field(default_factory=list)
    """Detectors that ran to the end (their findings are below)."""
    findings: list[Finding] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    """Why the verdict is ``flagged`` or ``error``: one line per flag or crashed detector."""
    errors: dict[str, str] = Field(default_factory=dict)
    """Detector name -> the exception it raised (a crash makes the verdict ``error``)."""
    note: str = ""
