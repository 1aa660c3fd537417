"""The audit report persisted as ``audit.json``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AuditReport", "Finding", "run_audit"]

Verdict = Literal["clean", "flagged", "error", "not_run"]


class Finding(BaseModel):
    """One thing a detector found, with the evidence that supports it."""

    model_config = ConfigDict(extra="forbid")

    detector: str
    """Detector that produced the finding."""
    severity: Literal["info", "warning", "flag"]
    message: str
    evidence: dict[str, str] = Field(default_factory=dict)
    """File paths, matched items, distances: whatever lets a reader check the claim."""


class AuditReport(BaseModel):
    """Findings of every detector and the verdict that decides the score."""

    model_config = ConfigDict(extra="forbid")

    verdict: Verdict
    """``flagged`` replaces the score with the base score; ``not_run`` leaves it."""
    detectors_run: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    note: str = ""


def run_audit() -> AuditReport:
    """Placeholder until the detectors land: records that no audit ran."""
    return AuditReport(
        verdict="not_run",
        note="No detectors are implemented yet; the score is not checked for reward hacking.",
    )
