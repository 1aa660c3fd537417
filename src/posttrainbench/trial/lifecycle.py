"""The runner's lifecycle events and the listeners that used to be called from inside it.

:class:`~posttrainbench.trial.runner.TrialRunner` emits a :class:`TrialEvent` when a phase
starts, ends or fails, and when the whole trial is done. Anything that follows a trial
without being part of a phase subscribes to them: the SQLite index (:class:`StoreIndexer`),
the resource monitor (:class:`SolveMonitor`), a red-team harness planting files after
prepare. Subscribers run in the runner's thread, in order, after the event is recorded in
``events.jsonl``; one that raises stops the trial (as a crash would: it resumes).

A subscriber that changes the trial folder must be idempotent: after a crash between the
event's record and its subscribers, a resumed trial does not emit that event again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from posttrainbench.records import Record
from posttrainbench.results import ResultStore, TrialResult, TrialRow
from posttrainbench.runs import agent_label
from posttrainbench.trial.events import Phase, utc_now
from posttrainbench.trial.layout import TrialPaths
from posttrainbench.trial.monitor import ResourceMonitor
from posttrainbench.trial.spec import TrialSpec

__all__ = [
    "EventKind",
    "PhaseEnd",
    "SolveMonitor",
    "StoreIndexer",
    "Subscriber",
    "TrialEvent",
]


class EventKind(StrEnum):
    """What happened."""

    START = "start"
    """A phase starts (recorded before it runs)."""
    END = "end"
    """A phase ended (its end record is in ``events.jsonl``)."""
    FAILED = "failed"
    """A phase raised; the trial stops and resumes at that phase next time."""
    DONE = "done"
    """Every phase has ended; ``result.json`` exists."""


class PhaseEnd(NamedTuple):
    """What a phase method returns: its outcome word and its typed end record."""

    outcome: str
    record: Record


@dataclass(frozen=True)
class TrialEvent:
    """One lifecycle event of one trial."""

    kind: EventKind
    spec: TrialSpec
    paths: TrialPaths
    phase: Phase | None = None
    """The phase (None for ``DONE``)."""
    attempt: int = 0
    """The phase's attempt number (1 on its first run)."""
    outcome: str | None = None
    """How the phase ended (``END``)."""
    record: Record | None = None
    """The phase's end record (``END``)."""
    error: BaseException | None = None
    """What the phase raised (``FAILED``)."""


Subscriber = Callable[[TrialEvent], None]
"""A listener: called with every event of the trials it is subscribed to."""


@dataclass
class StoreIndexer:
    """Keeps the SQLite index in step: the phase at each start, the result when done."""

    store: ResultStore

    def __call__(self, event: TrialEvent) -> None:
        """Index ``event``'s trial."""
        if event.kind is EventKind.START and event.phase is not None:
            self._row(event, event.phase.value)
        elif event.kind is EventKind.END and event.phase is Phase.FINALIZE:
            self.store.upsert_result(TrialResult.load(event.paths.result))
        elif event.kind is EventKind.DONE:
            self._row(event, "done")

    def _row(self, event: TrialEvent, phase: str) -> None:
        spec = event.spec
        self.store.upsert_trial(
            TrialRow(
                spec.trial_id,
                spec.experiment,
                agent_label(spec.agent, spec.agent_config),
                spec.model,
                spec.benchmark,
                spec.hours,
                spec.replicate,
                str(event.paths.root),
                phase,
                utc_now(),
            )
        )


@dataclass
class SolveMonitor:
    """Samples resources (``monitor.jsonl``, ``monitor_peaks.json``) while solve runs."""

    interval_s: float = 5.0
    _running: ResourceMonitor | None = None

    def __call__(self, event: TrialEvent) -> None:
        """Start sampling when solve starts; stop when it ends or fails."""
        if event.phase is not Phase.SOLVE:
            return
        if event.kind is EventKind.START:
            paths = event.paths
            self._running = ResourceMonitor(
                paths.monitor, paths.workspace, self.interval_s, paths.monitor_peaks
            )
            self._running.__enter__()
        elif event.kind in {EventKind.END, EventKind.FAILED} and self._running is not None:
            running, self._running = self._running, None
            running.__exit__(None, None, None)
