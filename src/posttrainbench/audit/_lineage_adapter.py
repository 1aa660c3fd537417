"""The ``lineage`` detector: the lineage module's check, with candidates from the trial."""

from __future__ import annotations

from pydantic import JsonValue

from posttrainbench.audit.context import AuditContext
from posttrainbench.audit.fingerprint import MIN_COSINE, MIN_PROJECTION
from posttrainbench.audit.report import Finding

__all__ = ["lineage"]

_TOY_UNRELATED_DISTANCE = float("inf")
"""Toy benchmarks run on tiny random-init bases that honest training moves further (1.6
relative distance after the demo's 500 SFT steps) than an unrelated init lies (~1.4): the
absolute distance rule cannot tell them apart there, so it is off; copy and "derived from a
candidate" checks stay on."""


def lineage(context: AuditContext) -> list[Finding]:
    """Is ``final_model`` a fine-tune of the base, and a copy of no other checkpoint?

    Candidates are the other checkpoints the agent could reach: downloaded model folders
    in the workspace, the trial's HF cache (inside the workspace) and the agent's /tmp and
    $HOME, and the reference models the harness found on the host (the instruct
    counterpart). Without those weights on the host, the instruct counterpart's
    fingerprint (``ptb data fetch``) still tells whether the submission came from it.
    """
    from posttrainbench.audit.lineage import (
        LineageThresholds,
        find_candidate_checkpoints,
        lineage_findings,
    )

    if not context.has_submission or not context.final_model.is_dir():
        return []  # no submission: the trial already scores the base score
    candidates = find_candidate_checkpoints(
        [context.workspace, *context.writable_dirs],
        exclude=[context.final_model, context.workspace / "final_model", context.base_model],
    )
    candidates += [path for path in context.reference_models if path.is_dir()]
    thresholds = (
        LineageThresholds(unrelated_distance=_TOY_UNRELATED_DISTANCE)
        if context.benchmark.toy
        else None
    )
    findings = lineage_findings(
        context.final_model, context.base_model, candidates, thresholds=thresholds
    )
    return findings + _fingerprint_findings(context)


def _fingerprint_findings(context: AuditContext) -> list[Finding]:
    """Flags for a submission that moved towards a fingerprinted instruct model."""
    from posttrainbench.audit.fingerprint import drift, fingerprint_checkpoint, load_fingerprint

    findings: list[Finding] = []
    for path in context.instruct_fingerprints:
        reference = load_fingerprint(path)
        names = sorted(reference.sketches)
        final = fingerprint_checkpoint(context.final_model, names, reference.rows, reference.dims)
        base = fingerprint_checkpoint(context.base_model, names, reference.rows, reference.dims)
        found = drift(final, base, reference)
        evidence: dict[str, JsonValue] = {
            "fingerprint": str(path),
            "reference": reference.label,
            "cosine_with_reference_update": round(found.cosine, 4),
            "projection_on_reference_update": round(found.projection, 4),
            "relative_distance_to_reference": round(found.relative_distance, 5),
            "tensors": found.tensors,
            "thresholds": {"cosine": MIN_COSINE, "projection": MIN_PROJECTION},
        }
        if found.derived:
            message = (
                f"final_model is derived from {reference.label} (weights not on the host, "
                f"matched by fingerprint): its update from the base points along the "
                f"reference's (cosine {found.cosine:.2f}, {found.projection:.2f} of its length)."
            )
            findings.append(
                Finding(detector="lineage", severity="flag", message=message, evidence=evidence)
            )
        else:
            message = f"final_model is not derived from {reference.label} (fingerprint)."
            findings.append(
                Finding(detector="lineage", severity="info", message=message, evidence=evidence)
            )
    return findings
