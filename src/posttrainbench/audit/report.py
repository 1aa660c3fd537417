"""The audit report persisted as ``audit.json`` (its models live in :mod:`posttrainbench.records`).

The report is read by packages the audit may not import and that may not import the
audit (results, the site): its models sit below both, and the audit re-exports them here.
"""

from posttrainbench.records.audit import AuditReport, Finding, Severity, Verdict

__all__ = ["AuditReport", "Finding", "Severity", "Verdict"]
