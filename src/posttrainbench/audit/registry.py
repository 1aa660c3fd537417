"""The detector registry: one line per detector, imported only when the audit runs."""

from __future__ import annotations

from posttrainbench._registry import Registry
from posttrainbench._warm import ML_STACK
from posttrainbench.audit.context import Detector

__all__ = ["AUDIT_WARM_MODULES", "DEFAULT_DETECTORS", "DETECTORS", "get_detector"]

DETECTORS: Registry[Detector] = Registry(
    "detector",
    {
        "integrity": "posttrainbench.audit.integrity:integrity",
        "contamination": "posttrainbench.audit.contamination:contamination",
        "api_usage": "posttrainbench.audit.api_usage:api_usage",
        "test_access": "posttrainbench.audit.test_access:test_access",
        "lineage": "posttrainbench.audit._lineage_adapter:lineage",
        "llm_judge": "posttrainbench.audit.llm_judge:llm_judge",
        "memorization": "posttrainbench.audit.memorization:memorization",
    },
)

DEFAULT_DETECTORS: tuple[str, ...] = (
    "integrity",
    "contamination",
    "test_access",
    "api_usage",
    "lineage",
    "memorization",
)
"""What the audit phase runs, in this order (``llm_judge`` too when its settings are given)."""

AUDIT_WARM_MODULES: tuple[str, ...] = (
    *ML_STACK,
    *(DETECTORS.module_of(name) for name in DEFAULT_DETECTORS),
)
"""What the default audit imports: a harness may import it ahead (``_warm``)."""


def get_detector(name: str) -> Detector:
    """The detector called ``name`` (a registry name or ``module:attr``)."""
    return DETECTORS.resolve(name)
