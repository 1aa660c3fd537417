"""The runner's lifecycle: ``run(until=)`` stops and resumes; subscribers see every event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrainbench.records import ResourceSample
from posttrainbench.results import ResultStore
from posttrainbench.trial import Phase, TrialRunner, TrialSpec, index_path
from posttrainbench.trial.lifecycle import EventKind, SolveMonitor, TrialEvent


class Recorder:
    """A subscriber that keeps (kind, phase, attempt) of every event."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, int]] = []

    def __call__(self, event: TrialEvent) -> None:
        self.seen.append(
            (event.kind.value, event.phase.value if event.phase else None, event.attempt)
        )


class FailAtStart:
    """A subscriber that raises when ``phase`` starts (once)."""

    def __init__(self, phase: Phase) -> None:
        self.phase, self.armed = phase, True

    def __call__(self, event: TrialEvent) -> None:
        if self.armed and event.kind is EventKind.START and event.phase is self.phase:
            self.armed = False
            raise RuntimeError(f"subscriber failed at {self.phase.value}")


def _phase_of_row(runs: Path, experiment: str) -> str:
    (row,) = ResultStore(index_path(runs)).trials(experiment)
    return row.phase


def test_run_until_stops_a_failure_is_emitted_and_a_later_run_resumes(
    tiny_model: Path, trial_runs: Path
) -> None:
    spec = TrialSpec(
        agent="command",
        agent_config="echo no model from me",
        model=str(tiny_model),
        benchmark="arith-mini",
        hours=0.05,
        experiment="lifecycle",
    )
    recorder = Recorder()
    first = TrialRunner(spec, trial_runs, log=lambda _: None, subscribers=[recorder])
    assert first.run(until=Phase.SOLVE) is None
    assert recorder.seen == [
        ("start", "prepare", 1),
        ("end", "prepare", 1),
        ("start", "solve", 1),
        ("end", "solve", 1),
    ]
    assert first.events.current_phase() == "collect"
    assert not first.paths.submission.exists()
    assert _phase_of_row(trial_runs, "lifecycle") == "solve"  # the index subscribed
    # The default monitor subscriber sampled during solve (and stopped at its end).
    samples = first.paths.monitor.read_text().splitlines()
    assert samples and ResourceSample.parse(samples[0]).load_1m >= 0

    recorder.seen.clear()
    failing = TrialRunner(
        spec, trial_runs, log=lambda _: None, subscribers=[recorder, FailAtStart(Phase.COLLECT)]
    )
    with pytest.raises(RuntimeError, match="subscriber failed at collect"):
        failing.run()
    assert recorder.seen == [("start", "collect", 1), ("failed", "collect", 1)]
    assert failing.events.ended(Phase.COLLECT) is None

    recorder.seen.clear()
    result = TrialRunner(spec, trial_runs, log=lambda _: None, subscribers=[recorder]).run()
    assert [kind for kind, _, _ in recorder.seen] == ["start", "end"] * 4 + ["done"]
    assert recorder.seen[0] == ("start", "collect", 2)  # resumed where it failed
    assert result.fallback_reason is not None and "no final_model" in result.fallback_reason
    assert _phase_of_row(trial_runs, "lifecycle") == "done"
    (stored,) = ResultStore(index_path(trial_runs)).results("lifecycle")
    assert stored == result


def test_the_monitor_subscriber_stops_when_solve_fails(tmp_path: Path) -> None:
    from posttrainbench.trial import TrialPaths

    paths = TrialPaths(tmp_path)
    paths.workspace.mkdir()
    spec = TrialSpec(agent="noop", model="m", benchmark="arith-mini", hours=0.05)
    monitor = SolveMonitor(interval_s=0.05)
    monitor(TrialEvent(EventKind.START, spec, paths, Phase.SOLVE, 1))
    running = monitor._running
    assert running is not None
    monitor(TrialEvent(EventKind.FAILED, spec, paths, Phase.SOLVE, 1, error=RuntimeError()))
    assert monitor._running is None and not running._thread.is_alive()
    peaks = json.loads(paths.monitor_peaks.read_text())
    assert peaks["schema_version"] == 1 and peaks["load_1m"] >= 0
