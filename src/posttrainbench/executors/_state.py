"""What an executor knows about each trial's job, kept on disk beside the trials.

``runs/<experiment>/_executor/jobs/<trial-id>.json`` says which process or cluster job
runs the trial, and why the last one failed. The trial's own run directory stays the
source of truth for its progress; this file only lets an executor that restarts find
(and not duplicate) the work it had started.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from posttrainbench._fileio import atomic_write_text
from posttrainbench.errors import UserError
from posttrainbench.trial import EventLog, TrialPaths, TrialSpec, trial_dir
from posttrainbench.trial.events import utc_now

__all__ = [
    "ECHO_AGENT",
    "ERROR_PREFIX",
    "USER_ERROR_EXIT",
    "JobRecord",
    "JobState",
    "StateDir",
    "trial_phase",
    "user_error",
    "worker_args",
]

JobState = Literal["queued", "running", "done", "failed", "cancelled"]

USER_ERROR_EXIT = 2
"""Exit code of a worker (``_worker``) stopped by a user error, as of ``ptb`` itself."""
ERROR_PREFIX = "Error: "
"""Starts a worker's user error message, the last thing it prints."""
ECHO_AGENT = "--echo-agent"
"""Worker flag: also print each line the agent prints, as it comes (demos)."""


def worker_args(runs_root: Path, spec: TrialSpec, *, echo_agent: bool = False) -> list[str]:
    """The arguments of a trial's worker (``executors._worker.main``): run or resume it."""
    return [str(runs_root), spec.model_dump_json(), *([ECHO_AGENT] if echo_agent else [])]


def user_error(output: str) -> str | None:
    """The user error a worker stopped with, from its output (None if it printed none)."""
    start = output.rfind("\n" + ERROR_PREFIX) + 1
    if start == 0 and not output.startswith(ERROR_PREFIX):
        return None
    return output[start + len(ERROR_PREFIX) :].strip() or None


class JobRecord(BaseModel):
    """The executor's record of one trial."""

    model_config = ConfigDict(extra="forbid")

    trial_id: str
    """The trial this record is about."""
    executor: str
    """``local`` or ``slurm``."""
    state: JobState = "queued"
    """Where the job stands, as the executor last saw it."""
    attempts: int = 0
    """Jobs started for this trial so far (each resumes where the last stopped)."""
    pid: int | None = None
    """Local: the worker process (the last one, once it has ended)."""
    pid_start: str | None = None
    """Local: the worker's start time (from /proc), so a reused pid is not mistaken for it."""
    gpus: list[int] = []
    """Local: host GPU indices the worker was given."""
    job_id: str | None = None
    """Cluster: the scheduler's job id."""
    job_name: str | None = None
    """Cluster: the job name, checked with the id (ids restart with a fresh cluster)."""
    log_dir: str | None = None
    """Cluster: the folder of the current job's scheduler logs (one per job, never reused)."""
    reason: str | None = None
    """Why the last job failed or was cancelled."""
    exit_code: int | None = None
    """Local: how the last worker exited (negative: the signal that killed it); None while
    it runs, or when it was not this queue's child."""
    updated_at: str = ""
    """When this record was last written (UTC)."""


class StateDir:
    """``runs/<experiment>/_executor/``: job records, worker logs, a lock and a cancel flag."""

    def __init__(self, experiment_dir: Path) -> None:
        self.root = experiment_dir / "_executor"

    @property
    def cancel_flag(self) -> Path:
        """Present while the experiment is cancelled (a new ``run`` removes it)."""
        return self.root / "cancelled"

    def log_path(self, trial_id: str) -> Path:
        """Output of the trial's worker processes or jobs, appended."""
        return self.root / "logs" / f"{trial_id}.log"

    def _record_path(self, trial_id: str) -> Path:
        return self.root / "jobs" / f"{trial_id}.json"

    def load(self, trial_id: str, executor: str) -> JobRecord:
        """The stored record, or a fresh ``queued`` one."""
        path = self._record_path(trial_id)
        if path.exists():
            return JobRecord.model_validate_json(path.read_text())
        return JobRecord(trial_id=trial_id, executor=executor)

    def save(self, record: JobRecord) -> JobRecord:
        """Write ``record`` atomically, stamped with the current time."""
        record = record.model_copy(update={"updated_at": utc_now()})
        atomic_write_text(self._record_path(record.trial_id), record.model_dump_json(indent=2))
        return record

    def records(self) -> dict[str, JobRecord]:
        """Every stored record by trial id."""
        return {
            path.stem: JobRecord.model_validate_json(path.read_text())
            for path in sorted((self.root / "jobs").glob("*.json"))
        }

    @contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """Hold the experiment's executor lock; a second holder gets a clear error."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(
                f"Cannot create {self.root}: {error.strerror or error}. Choose a writable "
                "--runs-dir."
            ) from error
        path = self.root / "lock"
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise UserError(
                    f"The experiment in {self.root.parent} is already being run ({holder}). "
                    "Wait for it, or stop it with `ptb cancel`; `ptb run --agent ...` can "
                    "use another --experiment."
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{what}, pid {os.getpid()}")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)


def trial_phase(runs_root: Path, spec: TrialSpec) -> str:
    """``new``, the first unfinished phase, or ``done``, from the trial's event log."""
    return EventLog(TrialPaths(trial_dir(runs_root, spec)).events).current_phase()
