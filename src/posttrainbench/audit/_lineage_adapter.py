"""The ``lineage`` detector: the lineage module's check, with candidates from the trial."""

from __future__ import annotations

from posttrainbench.audit.context import AuditContext
from posttrainbench.audit.report import Finding

__all__ = ["lineage"]

_TOY_UNRELATED_DISTANCE = float("inf")
"""Toy benchmarks run on tiny random-init bases that honest training moves further (1.6
relative distance after the demo's 500 SFT steps) than an unrelated init lies (~1.4): the
absolute distance rule cannot tell them apart there, so it is off; copy and "derived from a
candidate" checks stay on."""


def lineage(context: AuditContext) -> list[Finding]:
    """Is ``final_model`` a fine-tune of the base, and a copy of no other checkpoint?

    Candidates are the other checkpoints the agent could reach: model folders in the
    workspace and in the trial's HF cache (which lies inside the workspace), and the
    reference models the harness found on the host (the instruct counterpart).
    """
    from posttrainbench.audit.lineage import (
        LineageThresholds,
        find_candidate_checkpoints,
        lineage_findings,
    )

    if not context.has_submission or not context.final_model.is_dir():
        return []  # no submission: the trial already scores the base score
    candidates = find_candidate_checkpoints(
        [context.workspace],
        exclude=[context.final_model, context.workspace / "final_model", context.base_model],
    )
    candidates += [path for path in context.reference_models if path.is_dir()]
    thresholds = (
        LineageThresholds(unrelated_distance=_TOY_UNRELATED_DISTANCE)
        if context.benchmark.toy
        else None
    )
    return lineage_findings(
        context.final_model, context.base_model, candidates, thresholds=thresholds
    )
