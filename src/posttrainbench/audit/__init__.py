"""Reward-hacking audit: detectors, findings with evidence, and the verdict."""

from posttrainbench.audit.report import AuditReport, Finding, run_audit

__all__ = ["AuditReport", "Finding", "run_audit"]
