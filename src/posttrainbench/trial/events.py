"""The append-only phase log of a trial and what it says about progress."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from posttrainbench._fileio import append_jsonl, read_jsonl

__all__ = ["PHASES", "EventLog", "Phase"]


class Phase(StrEnum):
    """The phases of a trial, in order."""

    PREPARE = "prepare"
    SOLVE = "solve"
    COLLECT = "collect"
    AUDIT = "audit"
    EVALUATE = "evaluate"
    FINALIZE = "finalize"


PHASES: tuple[Phase, ...] = tuple(Phase)


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string."""
    return datetime.now(UTC).isoformat()


class EventLog:
    """``events.jsonl``: one record per phase start and end; never rewritten."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[dict[str, Any]]:
        """All events in order."""
        return read_jsonl(self.path)

    def start(self, phase: Phase) -> int:
        """Record that ``phase`` starts; returns its attempt number (1 on the first run)."""
        attempt = self.attempts(phase) + 1
        append_jsonl(
            self.path, {"ts": utc_now(), "phase": phase.value, "event": "start", "attempt": attempt}
        )
        return attempt

    def end(self, phase: Phase, outcome: str, data: dict[str, Any] | None = None) -> None:
        """Record that ``phase`` finished with ``outcome`` (and optional details)."""
        record: dict[str, Any] = {
            "ts": utc_now(),
            "phase": phase.value,
            "event": "end",
            "outcome": outcome,
            "attempt": self.attempts(phase),
        }
        if data:
            record["data"] = data
        append_jsonl(self.path, record)

    def attempts(self, phase: Phase) -> int:
        """How many times ``phase`` was started."""
        return sum(
            1 for r in self.records() if r.get("phase") == phase and r.get("event") == "start"
        )

    def ended(self, phase: Phase) -> dict[str, Any] | None:
        """The end record of ``phase``, or None if it never finished."""
        for record in self.records():
            if record.get("phase") == phase and record.get("event") == "end":
                return record
        return None

    def current_phase(self) -> str:
        """The first unfinished phase, ``done`` when all ended, ``new`` when nothing started."""
        records = self.records()
        if not records:
            return "new"
        finished = {r["phase"] for r in records if r.get("event") == "end"}
        for phase in PHASES:
            if phase.value not in finished:
                return phase.value
        return "done"
