"""Reward-hacking audit: detectors, findings with evidence, and the verdict."""

from posttrainbench.audit.context import (
    AuditContext,
    AuditSettings,
    Detector,
    LlmJudgeSettings,
    Manifest,
)
from posttrainbench.audit.lineage import (
    Comparison,
    LineageThresholds,
    compare_checkpoints,
    find_candidate_checkpoints,
    lineage_findings,
)
from posttrainbench.audit.registry import DEFAULT_DETECTORS, DETECTORS, get_detector
from posttrainbench.audit.report import AuditReport, Finding, Severity, Verdict
from posttrainbench.audit.verdict import decide, run_audit

__all__ = [
    "DEFAULT_DETECTORS",
    "DETECTORS",
    "AuditContext",
    "AuditReport",
    "AuditSettings",
    "Comparison",
    "Detector",
    "Finding",
    "LineageThresholds",
    "LlmJudgeSettings",
    "Manifest",
    "Severity",
    "Verdict",
    "compare_checkpoints",
    "decide",
    "find_candidate_checkpoints",
    "lineage_findings",
    "run_audit",
    "get_detector",
]
