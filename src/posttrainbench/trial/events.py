"""The append-only phase log of a trial and what it says about progress."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from posttrainbench._fileio import append_jsonl, read_jsonl
from posttrainbench.records import PhaseEvent, Record

__all__ = ["PHASES", "EventLog", "Phase", "utc_now"]

R = TypeVar("R", bound=Record)


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
    """``events.jsonl``: one :class:`PhaseEvent` per phase start and end; never rewritten.

    Other lines (a lock takeover, see ``trial.lock``) are kept in the file and skipped here.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[PhaseEvent]:
        """All phase events in order."""
        return [
            PhaseEvent.from_data(line)
            for line in read_jsonl(self.path)
            if line.get("event") in {"start", "end"}
        ]

    def start(self, phase: Phase) -> int:
        """Record that ``phase`` starts; returns its attempt number (1 on the first run)."""
        attempt = self.attempts(phase) + 1
        self._append(PhaseEvent(ts=utc_now(), phase=phase.value, event="start", attempt=attempt))
        return attempt

    def end(self, phase: Phase, outcome: str, record: Record | None = None) -> None:
        """Record that ``phase`` finished with ``outcome`` and its end ``record``."""
        event = PhaseEvent(
            ts=utc_now(),
            phase=phase.value,
            event="end",
            outcome=outcome,
            attempt=self.attempts(phase),
            data=record.model_dump(mode="json") if record is not None else None,
        )
        self._append(event)

    def _append(self, event: PhaseEvent) -> None:
        append_jsonl(self.path, event.model_dump(mode="json", exclude_none=True))

    def attempts(self, phase: Phase) -> int:
        """How many times ``phase`` was started."""
        return sum(1 for r in self.records() if r.phase == phase and r.event == "start")

    def ended(self, phase: Phase) -> PhaseEvent | None:
        """The end event of ``phase``, or None if it never finished."""
        for event in self.records():
            if event.phase == phase and event.event == "end":
                return event
        return None

    def record(self, phase: Phase, kind: type[R]) -> R:
        """The end record of ``phase``, as ``kind``; raises if the phase has not finished."""
        event = self.ended(phase)
        if event is None or event.data is None:
            raise LookupError(f"{self.path}: {phase.value} has not finished")
        return kind.from_data(dict(event.data))

    def current_phase(self) -> str:
        """The first unfinished phase, ``done`` when all ended, ``new`` when nothing started."""
        records = self.records()
        if not records:
            return "new"
        finished = {r.phase for r in records if r.event == "end"}
        for phase in PHASES:
            if phase.value not in finished:
                return phase.value
        return "done"
