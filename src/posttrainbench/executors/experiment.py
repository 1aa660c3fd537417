"""Experiments as a whole: submit (or resume) every trial, report progress, cancel."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from posttrainbench.config import LoadedExperiment
from posttrainbench.executors._state import StateDir, trial_phase
from posttrainbench.executors.base import executor_for
from posttrainbench.results import TrialResult
from posttrainbench.runs import agent_label
from posttrainbench.trial import TrialPaths, trial_dir

__all__ = [
    "ExperimentStatus",
    "TrialStatus",
    "cancel_experiment",
    "experiment_status",
    "submit_experiment",
]


class TrialStatus(BaseModel):
    """Where one trial of an experiment stands."""

    model_config = ConfigDict(extra="forbid")

    trial_id: str
    """Deterministic trial id."""
    agent: str
    """Agent (``name`` or ``name:config``)."""
    model: str
    """Base model."""
    benchmark: str
    """Benchmark id."""
    hours: float
    """Time budget."""
    replicate: int
    """Replicate number."""
    phase: str
    """``new``, the first unfinished phase, or ``done`` (from the trial's event log)."""
    job: str
    """The executor's view: queued, running, done, failed, cancelled."""
    job_id: str | None = None
    """Process id or cluster job id of the current or last job."""
    attempts: int = 0
    """Jobs started for the trial."""
    reason: str | None = None
    """Why the job failed or was cancelled, or why a finished trial scored the fallback."""
    score: float | None = None
    """Final score once done."""


class ExperimentStatus(BaseModel):
    """Progress of a whole experiment."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """Experiment name."""
    executor: str
    """Executor type."""
    trials: list[TrialStatus]
    """Every trial of the matrix, in the file's order."""

    def phase_counts(self) -> dict[str, int]:
        """Trials per phase."""
        return dict(Counter(trial.phase for trial in self.trials))

    def job_counts(self) -> dict[str, int]:
        """Trials per executor state."""
        return dict(Counter(trial.job for trial in self.trials))

    @property
    def finished(self) -> bool:
        """True when every trial is done."""
        return all(trial.phase == "done" for trial in self.trials)


def submit_experiment(
    loaded: LoadedExperiment, log: Callable[[str], None] = print, *, wait: bool = True
) -> ExperimentStatus:
    """Run or resume every unfinished trial of ``loaded`` on its executor.

    Finished trials are skipped; unfinished ones resume from their last finished phase.
    The local executor always waits; a cluster executor waits unless ``wait`` is False.
    Which executor runs them is the experiment file's ``[executor] type``.
    """
    judge = loaded.config.judge
    harness_env = judge.to_env(os.environ) if judge else {}
    executor_for(loaded, log=log, extra_env=harness_env).run(wait=wait)
    return experiment_status(loaded)


def experiment_status(loaded: LoadedExperiment) -> ExperimentStatus:
    """Progress of every trial, from the run directories and the executor's records.

    The executor first brings its records up to date (a cluster executor asks its
    scheduler).
    """
    executor_for(loaded).refresh()
    state = StateDir(loaded.experiment_dir)
    records = state.records()
    trials = []
    for spec in loaded.trial_specs():
        record = records.get(spec.trial_id)
        phase = trial_phase(loaded.runs_root, spec)
        reason = record.reason if record and record.state in {"failed", "cancelled"} else None
        score = None
        result_path = TrialPaths(trial_dir(loaded.runs_root, spec)).result
        if phase == "done" and result_path.exists():
            result = TrialResult.model_validate_json(result_path.read_text())
            score = result.score
            if result.fallback_reason:
                reason = f"scored the base model: {result.fallback_reason}"
        job_id = (record.job_id or (str(record.pid) if record.pid else None)) if record else None
        trials.append(
            TrialStatus(
                trial_id=spec.trial_id,
                agent=agent_label(spec.agent, spec.agent_config),
                model=spec.model,
                benchmark=spec.benchmark,
                hours=spec.hours,
                replicate=spec.replicate,
                phase=phase,
                job="done" if phase == "done" else (record.state if record else "queued"),
                job_id=job_id,
                attempts=record.attempts if record else 0,
                reason=reason,
                score=score,
            )
        )
    return ExperimentStatus(
        name=loaded.config.name, executor=loaded.config.executor.type, trials=trials
    )


def cancel_experiment(loaded: LoadedExperiment) -> list[str]:
    """Cancel every queued or running trial; returns the ids of the trials stopped."""
    from posttrainbench.config import EXECUTORS

    stopped: list[str] = EXECUTORS.resolve(loaded.config.executor.type).cancel(
        loaded.experiment_dir
    )
    return stopped
