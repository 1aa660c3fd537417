"""The test-split access log (``agent/test_access.jsonl``): one JSON object per line.

Lines come from two writers: the harness (a ``RECORDER_EVENT`` line when each solve attempt
starts, saying which recorders ran; kernel-watch records) and the agent's Pythons through
the audit hook, which the agent can add to but never take from. Readers therefore parse
each line leniently (:func:`read_access_log`), and coverage is the weakest any recorder
line states: a line the agent forged can lower the claim, never raise it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "EVALUATE_WRITE",
    "KERNEL_AND_HOOK",
    "KERNEL_OPEN_EVENT",
    "RECORDER_EVENT",
    "AccessLine",
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


class AccessLine(BaseModel):
    """One line of the log. Every field may be missing: the agent writes lines too."""

    model_config = ConfigDict(extra="ignore")

    event: str = "?"
    """``open``, ``open (kernel)``, ``posttrainbench.test_split``, ``evaluate-write``..."""
    detail: str = ""
    """What was read or written (a path, a benchmark id), or what recorded."""
    cmdline: str = "?"
    """The process's command line, as the recorder read it."""
    pid: int | None = None
    ppid: int | None = None
    note: str | None = None
    """Why a kernel record of an evaluate.py run counts (its environment was changed)."""


@dataclass
class AccessLog:
    """A parsed access log."""

    recorders: str | None = None
    """What recorded, the weakest claim of the recorder lines; None in logs from before
    they were written."""
    records: list[AccessLine] = field(default_factory=list)
    """Every other well-formed line, in order."""


def read_access_log(path: Path) -> AccessLog:
    """The log at ``path``; lines that are not well-formed are skipped."""
    log = AccessLog()
    claims: list[str] = []
    for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            line = AccessLine.model_validate_json(text)
        except ValidationError:
            continue  # a line the agent garbled: it can only add records, never remove one
        if line.event == RECORDER_EVENT:
            claims.append(line.detail)
            continue
        log.records.append(line)
    weaker = [claim for claim in claims if not claim.startswith(KERNEL_AND_HOOK)]
    log.recorders = next(iter(weaker or claims), None)
    return log
