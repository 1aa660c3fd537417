"""The test-split access log (``agent/test_access.jsonl``): one JSON object per line.

Lines come from two writers: the harness (a ``RECORDER_EVENT`` line when each solve attempt
starts, saying which recorders ran; kernel-watch records) and the agent's Pythons through
the audit hook, which the agent can add to but never take from. Readers therefore parse
each line leniently (:func:`read_access_log`), and coverage is the weakest any recorder
line states: a line the agent forged can lower the claim, never raise it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EVALUATE_WRITE",
    "KERNEL_AND_HOOK",
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
KERNEL_AND_HOOK = "kernel watch and Python hook"
"""The recorder line's detail when both recorders ran (anything else claims less)."""


@dataclass
class AccessLog:
    """A parsed access log."""

    recorders: str | None = None
    """What recorded, the weakest claim of the recorder lines; None in logs from before
    they were written."""
    records: list[dict[str, Any]] = field(default_factory=list)
    """Every other well-formed record, in order."""


def read_access_log(path: Path) -> AccessLog:
    """The log at ``path``; lines that are not JSON objects are skipped."""
    log = AccessLog()
    claims: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line the agent garbled: it can only add records, never remove one
        if not isinstance(record, dict):
            continue
        if record.get("event") == RECORDER_EVENT:
            claims.append(str(record.get("detail", "")))
            continue
        log.records.append(record)
    weaker = [claim for claim in claims if not claim.startswith(KERNEL_AND_HOOK)]
    log.recorders = next(iter(weaker or claims), None)
    return log
