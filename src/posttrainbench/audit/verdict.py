"""The verdict policy: findings and detector crashes -> ``clean | flagged | error``."""

from __future__ import annotations

import traceback
from collections.abc import Sequence

from posttrainbench.audit.context import AuditContext
from posttrainbench.audit.registry import DEFAULT_DETECTORS, get_detector
from posttrainbench.audit.report import AuditReport, Finding, Verdict

__all__ = ["decide", "run_audit"]


def decide(findings: Sequence[Finding], errors: dict[str, str], ran: Sequence[str]) -> AuditReport:
    """The report for these findings.

    A ``flag`` finding makes the trial ``flagged``: its evidence stands whatever another
    detector did. Otherwise a crashed detector makes it ``error``: a check that did not
    run can never vouch for a clean trial, nor accuse one. Only then is it ``clean``.
    """
    flags = [
        f"{finding.detector}: {finding.message}"
        for finding in findings
        if finding.severity == "flag"
    ]
    verdict: Verdict
    if flags:
        verdict, reasons = "flagged", flags
    elif errors:
        verdict, reasons = "error", [f"{name} crashed: {error}" for name, error in errors.items()]
    else:
        verdict, reasons = "clean", []
    return AuditReport(
        verdict=verdict,
        detectors_run=list(ran),
        findings=list(findings),
        reasons=reasons,
        errors=dict(errors),
    )


def run_audit(context: AuditContext, detectors: Sequence[str] | None = None) -> AuditReport:
    """Run ``detectors`` on ``context`` and apply the verdict policy.

    ``None`` runs ``DEFAULT_DETECTORS``, plus ``llm_judge`` when the context's settings
    configure it.

    A detector that raises (anything, including a missing optional dependency) is recorded
    with its error and the others still run.
    """
    if detectors is None:
        detectors = DEFAULT_DETECTORS + (("llm_judge",) if context.settings.llm_judge else ())
    findings: list[Finding] = []
    errors: dict[str, str] = {}
    ran: list[str] = []
    for name in detectors:
        try:
            found = _checked(get_detector(name)(context))
        except Exception as error:  # noqa: BLE001 - a crash is a verdict, not a harness bug
            last = traceback.extract_tb(error.__traceback__)[-1:]
            where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
            errors[name] = f"{type(error).__name__}: {error}{where}"
            continue
        ran.append(name)
        findings.extend(found)
    return decide(findings, errors, ran)


def _checked(found: object) -> list[Finding]:
    if not isinstance(found, list) or not all(isinstance(item, Finding) for item in found):
        raise TypeError(f"a detector must return a list of Finding, not {type(found).__name__}")
    return found
