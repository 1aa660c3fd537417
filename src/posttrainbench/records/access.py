"""The test-split access log (``agent/test_access.jsonl``): one JSON object per line.

Lines come from two writers: the harness (the first line, ``RECORDER_EVENT``, saying which
recorders ran; kernel-watch records) and the agent's Pythons through the audit hook, which
the agent can add to but never take from. Readers therefore parse each line leniently
(:func:`read_access_log`) and trust only the harness's first line for coverage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EVALUATE_WRITE",
    "KERNEL_OPEN_EVENT",
    "RECORDER_EVENT",
    "AccessLog",
    "read_access_log",
]

EVALUATE_WRITE = "evaluate-write"
"""A path the harness's evaluate.py wrote (its outputs hold test items by design)."""
RECORDER_EVENT = "recorder"
"""The harness's first line: which recorders ran (``detail``)."""
KERNEL_OPEN_EVENT = "open (kernel)"
"""An open of a data file by any program, seen by the harness's kernel watch."""


@dataclass
class AccessLog:
    """A parsed access log."""

    recorders: str | None = None
    """What recorded (the harness's first line); None in logs from before it was written."""
    records: list[dict[str, Any]] = field(default_factory=list)
    """Every other well-formed record, in order."""


def read_access_log(path: Path) -> AccessLog:
    """The log at ``path``; lines that are not JSON objects are skipped."""
    log = AccessLog()
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line the agent garbled: it can only add records, never remove one
        if not isinstance(record, dict):
            continue
        if number == 0 and record.get("event") == RECORDER_EVENT:
            log.recorders = str(record.get("detail", ""))
            continue
        log.records.append(record)
    return log
