"""The SLURM executor: each trial is one batch job submitted through submitit.

A job runs the same trial code as the local queue (``_worker.run_trial_job``) on a node of
the cluster; the run directory must be on a file system the nodes share. The executor
records each trial's job id and name (``_state``), reads job states from ``squeue`` (not
``sacct``, which needs accounting that many clusters restrict), and resubmits a trial whose
job ended before the trial finished (node failure, preemption, time limit) up to
``max_requeues`` times; the new job resumes the trial from its last finished phase.
"""

from __future__ import annotations

import getpass
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field
from typing_extensions import override

from posttrainbench.config import ExecutorSettings
from posttrainbench.errors import UserError
from posttrainbench.executors._state import JobRecord, StateDir, trial_phase
from posttrainbench.executors.base import Executor
from posttrainbench.trial import TrialSpec

__all__ = [
    "SlurmExecutor",
    "SlurmQueue",
    "SlurmSettings",
    "cancel_slurm",
    "job_parameters",
]

_LIVE = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED"}
_WALLTIME_GRACE_MIN = 5  # the runner lets an agent run up to 5 minutes past its budget


class SlurmSettings(ExecutorSettings):
    """Submit each trial as one SLURM job through submitit."""

    model_config = ConfigDict(extra="forbid")

    partition: str | None = None
    """``--partition`` of every job."""
    account: str | None = None
    """``--account`` of every job."""
    qos: str | None = None
    """``--qos`` of every job."""
    eval_margin_hours: float = Field(default=2.0, ge=0)
    """Wall time added to the agent's budget for preparation, audit and evaluation."""
    cpus_per_trial: int = Field(default=8, ge=1)
    """``--cpus-per-task`` of every job."""
    mem_gb: int | None = Field(default=None, ge=1)
    """``--mem`` of every job, in GB (default: the cluster's per-CPU default)."""
    gpu_gres: bool = False
    """Ask for GPUs as ``--gres=gpu:N`` instead of ``--gpus-per-node=N``."""
    max_requeues: int = Field(default=2, ge=0)
    """Times a job that died before its trial finished (node failure, preemption) is resubmitted."""
    setup: list[str] = []
    """Shell lines run before the trial in the job (e.g. ``module load cuda``)."""
    sbatch: dict[str, str | int] = {}
    """Further sbatch options, without the leading dashes (e.g. ``constraint = "h100"``)."""
    poll_seconds: float = Field(default=30.0, gt=0)
    """How often the watcher asks ``squeue`` about the jobs."""


def job_parameters(spec: TrialSpec, settings: SlurmSettings) -> dict[str, Any]:
    """The submitit ``SlurmExecutor`` parameters of the job that runs ``spec``."""
    minutes = spec.hours * 60 + _WALLTIME_GRACE_MIN + settings.eval_margin_hours * 60
    params: dict[str, Any] = {
        "job_name": job_name(spec),
        "time": math.ceil(minutes),
        "nodes": 1,
        "ntasks_per_node": 1,
        "cpus_per_task": settings.cpus_per_trial,
        "setup": list(settings.setup),
        "additional_parameters": dict(settings.sbatch),
        "stderr_to_stdout": True,
        "use_srun": False,
    }
    if spec.gpus:
        if settings.gpu_gres:
            params["gres"] = f"gpu:{spec.gpus}"
        else:
            params["gpus_per_node"] = spec.gpus
    for key in ("partition", "account", "qos"):
        if (value := getattr(settings, key)) is not None:
            params[key] = value
    if settings.mem_gb is not None:
        params["mem"] = f"{settings.mem_gb}GB"
    return params


def job_name(spec: TrialSpec) -> str:
    """The job name: checked along with the id, since ids restart with a fresh cluster."""
    return f"ptb-{spec.trial_id}"


@dataclass(frozen=True)
class _Job:
    job_id: str
    name: str
    state: str
    reason: str


def _squeue() -> dict[str, _Job]:
    """This user's jobs that the controller still knows (recently ended ones included)."""
    try:
        completed = subprocess.run(
            ["squeue", "-h", "-t", "all", "-u", getpass.getuser(), "-o", "%i|%T|%r|%j"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except FileNotFoundError as error:
        raise UserError("squeue is not on PATH: run on a SLURM login node.") from error
    if completed.returncode != 0:
        raise UserError(f"squeue failed: {completed.stderr.strip()}")
    jobs = {}
    for line in completed.stdout.splitlines():
        parts = line.strip().split("|", 3)
        if len(parts) == 4:
            jobs[parts[0]] = _Job(parts[0], parts[3], parts[1], parts[2])
    return jobs


def _scancel(job_ids: Sequence[str]) -> None:
    if job_ids:
        subprocess.run(["scancel", *job_ids], capture_output=True, text=True, timeout=60)


@dataclass
class SlurmQueue:
    """Submits, watches and requeues the trials ``specs`` on a SLURM cluster."""

    specs: Sequence[TrialSpec]
    runs_root: Path
    experiment_dir: Path
    settings: SlurmSettings
    log: Callable[[str], None] = print
    poll_s: float = 10.0
    extra_env: Mapping[str, str] = field(default_factory=dict)
    """Variables the jobs get besides the submitter's (sbatch exports its environment)."""
    _requeues: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.runs_root = self.runs_root.absolute()
        self.state = StateDir(self.experiment_dir)

    def run(self, *, wait: bool = True) -> dict[str, JobRecord]:
        """Submit every unfinished trial without a live job; with ``wait``, see them through."""
        with self.state.lock("slurm submitter"):
            self.state.cancel_flag.unlink(missing_ok=True)
            for spec in self._sync(requeue=False):
                self._submit(spec, why="submitted")
            while wait and not self.state.cancel_flag.exists():
                records = self.state.records()
                if all(records[s.trial_id].state in {"done", "failed"} for s in self.specs):
                    break
                time.sleep(self.poll_s)
                for spec in self._sync(requeue=True):
                    self._submit(spec, why="requeued")
        return self.state.records()

    def _sync(self, *, requeue: bool) -> list[TrialSpec]:
        """Update every record from squeue and the run directories; returns trials to submit.

        Without ``requeue`` (a new submission by the user) every unfinished trial without a
        live job is returned; with it, only those whose job died and that have requeues left.
        """
        jobs = _squeue()
        to_submit = []
        for spec in self.specs:
            record = self.state.load(spec.trial_id, "slurm")
            job = jobs.get(record.job_id or "")
            if job is not None and job.name != record.job_name:
                job = None  # the same id on a fresh cluster: not our job
            if trial_phase(self.runs_root, spec) == "done":
                if record.state != "done":
                    self.state.save(record.model_copy(update={"state": "done", "reason": None}))
                continue
            if job is not None and job.state in _LIVE:
                state = "queued" if job.state == "PENDING" else "running"
                if record.state != state:
                    self.state.save(record.model_copy(update={"state": state}))
                continue
            if not requeue:
                to_submit.append(spec)
            elif record.state in {"queued", "running"}:
                to_submit.extend(self._job_ended(spec, record, job))
        return to_submit

    def refresh(self) -> None:
        """Bring every record up to date with squeue without submitting anything.

        A job that ended under an unfinished trial is recorded as failed, with why; the
        next ``run`` resubmits it.
        """
        jobs = _squeue()
        for spec in self.specs:
            record = self.state.load(spec.trial_id, "slurm")
            if record.state not in {"queued", "running"} or not record.job_id:
                continue
            job = jobs.get(record.job_id)
            if job is not None and job.name != record.job_name:
                job = None
            if trial_phase(self.runs_root, spec) == "done":
                update: dict[str, object] = {"state": "done", "reason": None}
            elif job is not None and job.state in _LIVE:
                update = {"state": "queued" if job.state == "PENDING" else "running"}
            else:
                update = {"state": "failed", "reason": _ended_reason(record, job)}
            if any(getattr(record, key) != value for key, value in update.items()):
                self.state.save(record.model_copy(update=update))

    def _job_ended(self, spec: TrialSpec, record: JobRecord, job: _Job | None) -> list[TrialSpec]:
        reason = _ended_reason(record, job)
        used = self._requeues.get(spec.trial_id, 0)
        if used < self.settings.max_requeues:
            self._requeues[spec.trial_id] = used + 1
            self.log(
                f"[{spec.trial_id}] {reason}; requeueing ({used + 1}/{self.settings.max_requeues})"
            )
            self.state.save(record.model_copy(update={"reason": reason}))
            return [spec]
        self.log(f"[{spec.trial_id}] failed: {reason}")
        self.state.save(record.model_copy(update={"state": "failed", "reason": reason}))
        return []

    def _submit(self, spec: TrialSpec, why: str) -> None:
        try:
            import submitit
        except ModuleNotFoundError as error:
            raise UserError(
                "The slurm executor needs submitit: pip install 'posttrainbench[slurm]'."
            ) from error

        from posttrainbench.executors._worker import run_trial_job

        record = self.state.load(spec.trial_id, "slurm")
        attempt = record.attempts + 1
        # One folder per job: submitit's files are named by job id, and ids restart at 1
        # on a fresh cluster, so a shared folder could mix two clusters' jobs.
        folder = self.state.root / "slurm" / spec.trial_id / f"job-{attempt}-{time.time_ns()}"
        executor = submitit.SlurmExecutor(folder=folder)
        executor.update_parameters(**job_parameters(spec, self.settings))
        try:
            with _exported(self.extra_env):
                job = executor.submit(run_trial_job, str(self.runs_root), spec.model_dump_json())
        except (subprocess.CalledProcessError, FileNotFoundError) as error:
            raise UserError(f"sbatch failed for {spec.trial_id}: {_describe(error)}") from error
        self.state.save(
            record.model_copy(
                update={
                    "state": "queued",
                    "attempts": attempt,
                    "job_id": str(job.job_id),
                    "job_name": job_name(spec),
                    "log_dir": str(folder),
                }
            )
        )
        self.log(f"[{spec.trial_id}] {why} as slurm job {job.job_id}")


@contextmanager
def _exported(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` in this process's environment while sbatch copies it into a job."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _ended_reason(record: JobRecord, job: _Job | None) -> str:
    how = f"ended {job.state}" if job else "is no longer known to the scheduler"
    reason = f"slurm job {record.job_id} {how} before the trial finished"
    tail = _log_tail(record.log_dir)
    return f"{reason} (last output: {tail})" if tail else reason


def _describe(error: Exception) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        output = error.output.decode() if isinstance(error.output, bytes) else error.output
        return (output or str(error)).strip()
    return "sbatch is not on PATH: run on a SLURM login node"


def _log_tail(log_dir: str | None) -> str:
    if not log_dir:
        return ""
    lines: list[str] = []
    for path in sorted(Path(log_dir).glob("*_log.out")):
        lines += [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][-300:] if lines else ""


def cancel_slurm(experiment_dir: Path) -> list[str]:
    """Cancel the experiment's queued and running jobs; returns the ids of their trials."""
    state = StateDir(experiment_dir)
    state.root.mkdir(parents=True, exist_ok=True)
    state.cancel_flag.touch()
    jobs = _squeue()
    records = [
        record
        for record in state.records().values()
        if record.executor == "slurm" and record.state in {"queued", "running"}
    ]
    live = [
        record
        for record in records
        if (job := jobs.get(record.job_id or "")) is not None
        and job.name == record.job_name
        and job.state in _LIVE
    ]
    _scancel([record.job_id for record in live if record.job_id])
    for record in records:
        state.save(
            record.model_copy(update={"state": "cancelled", "reason": "cancelled by the user"})
        )
    return [record.trial_id for record in live]


class SlurmExecutor(Executor):
    """The ``slurm`` executor: each trial one batch job (see :class:`SlurmQueue`)."""

    settings_model = SlurmSettings

    def _queue(self) -> SlurmQueue:
        assert isinstance(self.settings, SlurmSettings)
        return SlurmQueue(
            self.specs,
            self.runs_root,
            self.experiment_dir,
            self.settings,
            log=self.log,
            poll_s=self.settings.poll_seconds,
            extra_env=self.extra_env,
        )

    @override
    def run(self, *, wait: bool = True) -> None:
        """Submit every unfinished trial; with ``wait``, watch and requeue to the end."""
        self._queue().run(wait=wait)

    @override
    def refresh(self) -> None:
        """Update the job records from ``squeue`` where it runs (else keep the last ones)."""
        if shutil.which("squeue"):
            try:
                self._queue().refresh()
            except UserError:
                pass  # squeue unreachable from here: show what was last recorded

    @override
    @classmethod
    def cancel(cls, experiment_dir: Path) -> list[str]:
        """``scancel`` the experiment's live jobs (see :func:`cancel_slurm`)."""
        return cancel_slurm(experiment_dir)
