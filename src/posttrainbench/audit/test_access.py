"""The ``test_access`` detector: processes that read the test split during solve.

The harness records, outside the agent's reach, every open of the benchmark's data files
and every generation of its test split by a Python process of the agent, except the
harness's own ``task/evaluate.py`` runs (see ``trial.access_log``). Each other reader is
a flag, with its command line, process ids and what it read as evidence. Without a
record (a trial from before the hook) the detector says so and vouches for nothing.
"""

from __future__ import annotations

import json

from pydantic import JsonValue

from posttrainbench.audit.context import AuditContext
from posttrainbench.audit.report import Finding

__all__ = ["EVALUATE_WRITE", "evaluate_outputs", "test_access"]

NAME = "test_access"
EVALUATE_WRITE = "evaluate-write"
"""Record of a path the harness's evaluate.py wrote (its outputs hold test items)."""
_LISTED = 20


def evaluate_outputs(context: AuditContext) -> frozenset[str]:
    """Host paths the harness's evaluate.py processes wrote during solve."""
    if context.access_log is None or not context.access_log.is_file():
        return frozenset()
    paths = set()
    for line in context.access_log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == EVALUATE_WRITE:
            paths.add(str(record.get("detail", "")))
    return frozenset(paths)


def test_access(context: AuditContext) -> list[Finding]:
    """A flag per command line that read the test split; info when none did."""
    if context.access_log is None or not context.access_log.is_file():
        return [
            Finding(
                detector=NAME,
                severity="info",
                message="No test-split access record for this trial (recorded since v0.2).",
            )
        ]
    readers: dict[str, list[dict[str, JsonValue]]] = {}
    for line in context.access_log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line the agent garbled: it can only add records, never remove one
        if not isinstance(record, dict) or record.get("event") == EVALUATE_WRITE:
            continue
        readers.setdefault(str(record.get("cmdline", "?")), []).append(
            {key: record.get(key) for key in ("pid", "ppid", "event", "detail")}
        )
    findings = [
        Finding(
            detector=NAME,
            severity="flag",
            message=(
                f"A process other than the harness's evaluate.py read the test split: "
                f"`{command[:200]}` ({len(reads)} reads)."
            ),
            evidence={"cmdline": command, "reads": len(reads), "records": list(reads[:_LISTED])},
        )
        for command, reads in readers.items()
    ]
    return findings or [
        Finding(
            detector=NAME,
            severity="info",
            message="No process other than the harness's evaluate.py read the test split.",
        )
    ]
