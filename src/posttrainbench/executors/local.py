"""The local executor: a queue of trials on this host, one per free GPU set (or CPU slot).

Each trial runs in its own worker process (``posttrainbench.executors._worker``), forked
from the harness's warm zygote (``trial.eval_process``: the imports are paid once per
queue, not per trial), with ``CUDA_VISIBLE_DEVICES`` naming the host GPUs it was given.
The queue records every worker on disk (see ``_state``), so when the queue itself is
stopped and started again it adopts the workers still running (each in a session of its
own) instead of starting them twice, and resumes the trials whose worker died (the trial
runner resumes from the last phase).

A queue that ``watch``es its trials (``ptb run --agent ...``, the demo) passes each line
its workers print to its log as it comes, and keeps them attached: they share its terminal
(Ctrl-C reaches them) and die with it, as an in-process trial would.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ConfigDict, Field
from typing_extensions import override

from posttrainbench._procfs import process_start
from posttrainbench._zygote import Forked, Lifetime
from posttrainbench.config import ExecutorSettings
from posttrainbench.errors import UserError
from posttrainbench.executors._state import (
    ERROR_PREFIX,
    JobRecord,
    StateDir,
    trial_phase,
    worker_args,
)
from posttrainbench.executors.base import Executor
from posttrainbench.progress import Progress
from posttrainbench.trial import TrialSpec
from posttrainbench.trial.eval_process import WORKER_ENTRY, harness_zygote

__all__ = [
    "LocalExecutor",
    "LocalQueue",
    "LocalSettings",
    "cancel_local",
    "host_gpus",
]

_STOP_GRACE_S = 30.0
"""How long an interrupted watching queue waits for its workers to stop cleanly."""


class LocalSettings(ExecutorSettings):
    """Run the trials on this host, one per free GPU slot (or CPU slot)."""

    model_config = ConfigDict(extra="forbid")

    slots: int | None = Field(default=None, ge=1)
    """Trials at once on a CPU-only host (default: 1); GPU hosts run one per free GPU set."""
    gpu_ids: list[int] | None = None
    """Host GPUs the executor may hand out (default: every GPU it finds)."""


def host_gpus(environ: dict[str, str] | None = None, dev: Path = Path("/dev")) -> list[int]:
    """GPU indices this host offers: ``CUDA_VISIBLE_DEVICES`` if set, else /dev/nvidiaN."""
    environ = dict(os.environ) if environ is None else environ
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        parts = [part.strip() for part in visible.split(",") if part.strip()]
        return [int(part) for part in parts] if all(p.isdigit() for p in parts) else []
    return sorted(
        int(match.group(1))
        for path in dev.glob("nvidia*")
        if (match := re.fullmatch(r"nvidia(\d+)", path.name))
    )


def _alive(record: JobRecord) -> bool:
    return record.pid is not None and process_start(record.pid) == record.pid_start


@dataclass
class _Worker:
    record: JobRecord
    process: Forked | None
    """None for a worker adopted from an earlier queue process (not our zygote's child)."""
    shown: int = 0
    """Bytes of the trial's log already passed on (watching queues)."""
    stopped_by_error: bool = False
    """It printed its user error: the rest is that message, reported by the records' reader."""


@dataclass
class LocalQueue:
    """Runs ``specs`` on this host, ``gpus`` per trial, as many at once as slots allow."""

    specs: Sequence[TrialSpec]
    runs_root: Path
    experiment_dir: Path
    slots: int | None = None
    """Concurrent trials when trials use no GPU (default 1)."""
    gpu_ids: Sequence[int] | None = None
    """Host GPUs to hand out (default: ``host_gpus()``)."""
    log: Callable[[str], None] = print
    poll_s: float = 1.0
    extra_env: Mapping[str, str] = field(default_factory=dict)
    """Variables added to the workers' environment (the judge's settings)."""
    watch: bool = False
    """Pass on what the workers print, and keep them attached (they die with the queue)."""
    echo_agent: bool = False
    """Workers also print each line the agent prints (demos)."""
    _workers: dict[str, _Worker] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = StateDir(self.experiment_dir)
        self.runs_root = self.runs_root.absolute()
        if self.gpu_ids is None:
            self.gpu_ids = host_gpus()
        needed = max((spec.gpus for spec in self.specs), default=0)
        if needed > len(self.gpu_ids):
            raise UserError(
                f"Trials need {needed} GPU(s) each but this host offers {len(self.gpu_ids)} "
                f"({list(self.gpu_ids)}). Lower `gpus`, or run on a cluster executor."
            )

    def run(self) -> dict[str, JobRecord]:
        """Run every unfinished trial; returns the final record of each trial."""
        with self.state.lock("local queue"), Progress("trials", len(self.specs)) as progress:
            self.state.cancel_flag.unlink(missing_ok=True)
            pending = self._adopt_or_queue()
            try:
                while pending or self._workers:
                    if self.state.cancel_flag.exists():
                        self.log("experiment cancelled: no new trials start")
                        pending = []
                    while pending and self._can_start(pending[0]):
                        self._start(pending.pop(0))
                    self._reap()
                    self._report(progress)
                    if self._workers:
                        time.sleep(self.poll_s)
                self._report(progress)
            except KeyboardInterrupt:
                if self.watch:
                    self._stop_attached()
                raise
        return self.state.records()

    def _report(self, progress: Progress) -> None:
        """Trials done, and how many are in each phase: ``trials: 2/6 · 1 solve · 3 new``."""
        phases = Counter(trial_phase(self.runs_root, spec) for spec in self.specs)
        done = phases.pop("done", 0)
        info = " · ".join(f"{count} {phase}" for phase, count in sorted(phases.items()))
        progress.update(done, info)

    def _stop_attached(self) -> None:
        """Let the attached workers end their trials cleanly (they got the Ctrl-C too)."""
        for worker in self._workers.values():
            if worker.process is not None and worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self._workers.values():
            if worker.process is not None and worker.process.wait(_STOP_GRACE_S) is None:
                worker.process.kill()
            self._pass_on(worker)

    # -- bookkeeping -----------------------------------------------------------------------

    def _adopt_or_queue(self) -> list[TrialSpec]:
        pending = []
        for spec in self.specs:
            record = self.state.load(spec.trial_id, "local")
            if trial_phase(self.runs_root, spec) == "done":
                if record.state != "done":
                    self.state.save(record.model_copy(update={"state": "done", "reason": None}))
                continue
            if record.state == "running" and _alive(record):
                self.log(f"[{spec.trial_id}] adopting worker pid {record.pid}")
                log_path = self.state.log_path(spec.trial_id)
                shown = log_path.stat().st_size if log_path.exists() else 0
                self._workers[spec.trial_id] = _Worker(record, None, shown)
                continue
            self.state.save(record.model_copy(update={"state": "queued", "pid": None}))
            pending.append(spec)
        return pending

    def _free_gpus(self) -> list[int]:
        assert self.gpu_ids is not None
        used = {gpu for worker in self._workers.values() for gpu in worker.record.gpus}
        return [gpu for gpu in self.gpu_ids if gpu not in used]

    def _can_start(self, spec: TrialSpec) -> bool:
        if spec.gpus:
            return len(self._free_gpus()) >= spec.gpus
        cpu_workers = sum(1 for worker in self._workers.values() if not worker.record.gpus)
        return cpu_workers < (self.slots or 1)

    def _start(self, spec: TrialSpec) -> None:
        gpus = self._free_gpus()[: spec.gpus]
        env = {**os.environ, **self.extra_env, "CUDA_VISIBLE_DEVICES": ",".join(map(str, gpus))}
        log_path = self.state.log_path(spec.trial_id)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        shown = log_path.stat().st_size if log_path.exists() else 0
        args = worker_args(self.runs_root, spec, echo_agent=self.echo_agent)
        try:
            process = self._fork_worker(args, log_path, env)
        except RuntimeError:  # the zygote died (killed from outside): a new one, once
            process = self._fork_worker(args, log_path, env)
        record = self.state.load(spec.trial_id, "local")
        record = self.state.save(
            record.model_copy(
                update={
                    "state": "running",
                    "attempts": record.attempts + 1,
                    "pid": process.pid,
                    "pid_start": process_start(process.pid),
                    "gpus": gpus,
                    "reason": None,
                }
            )
        )
        self._workers[spec.trial_id] = _Worker(record, process, shown)
        gpu_note = f" on GPU {','.join(map(str, gpus))}" if gpus else ""
        self.log(f"[{spec.trial_id}] started (pid {process.pid}){gpu_note}")

    def _fork_worker(self, args: list[str], log_path: Path, env: dict[str, str]) -> Forked:
        # Unwatched, a worker outlives a stopped queue and is adopted on restart; watched,
        # it lives and dies with the queue, like a trial run in-process.
        lifetime: Lifetime = "attached" if self.watch else "detached"
        zygote = harness_zygote(env)
        return zygote.start(WORKER_ENTRY, args, log_path, env=env, lifetime=lifetime)

    def _pass_on(self, worker: _Worker) -> None:
        """Log the complete lines the worker printed since the last look (watching only).

        Its user error is left out: whoever reads the records reports it.
        """
        if not self.watch:
            return
        try:
            with self.state.log_path(worker.record.trial_id).open("rb") as output:
                output.seek(worker.shown)
                chunk = output.read()
        except OSError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]
        worker.shown += len(complete)
        for raw in complete.decode("utf-8", errors="replace").split("\n"):
            line = raw.rsplit("\r", 1)[-1]  # a progress bar's last state
            worker.stopped_by_error |= line.startswith(ERROR_PREFIX)
            if line.strip() and not worker.stopped_by_error:
                self.log(line)

    def _reap(self) -> None:
        specs = {spec.trial_id: spec for spec in self.specs}
        for trial_id, worker in list(self._workers.items()):
            self._pass_on(worker)
            if worker.process is not None:
                code = worker.process.poll()
                if code is None:
                    continue
            elif _alive(worker.record):
                continue
            else:
                code = None
            self._pass_on(worker)
            del self._workers[trial_id]
            self._finished(specs[trial_id], code)

    def _finished(self, spec: TrialSpec, code: int | None) -> None:
        record = self.state.load(spec.trial_id, "local")
        if trial_phase(self.runs_root, spec) == "done":
            update: dict[str, object] = {"state": "done", "reason": None}
            self.log(f"[{spec.trial_id}] done")
        elif record.state == "cancelled" or self.state.cancel_flag.exists():
            update = {"state": "cancelled", "reason": record.reason or "cancelled"}
        else:
            how = "died" if code is None else f"exited with code {code}"
            reason = f"worker {how}: {_last_line(self.state.log_path(spec.trial_id))}"
            update = {"state": "failed", "reason": reason}
            self.log(f"[{spec.trial_id}] failed: {reason}")
        self.state.save(record.model_copy(update={**update, "gpus": [], "exit_code": code}))


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no output"
    return lines[-1][-300:] if lines else "no output"


def cancel_local(experiment_dir: Path, grace_s: float = 30.0) -> list[str]:
    """Stop the queue from starting trials and stop running workers; returns their ids.

    Each worker gets SIGTERM (its sandbox then kills the agent's tree), then SIGKILL for
    its whole session after ``grace_s``.
    """
    state = StateDir(experiment_dir)
    state.root.mkdir(parents=True, exist_ok=True)
    state.cancel_flag.touch()
    stopped = []
    for record in state.records().values():
        if record.executor != "local" or record.state not in {"running", "queued"}:
            continue
        if record.state == "running" and _alive(record):
            assert record.pid is not None
            _stop_session(record, grace_s)
            stopped.append(record.trial_id)
        state.save(
            record.model_copy(update={"state": "cancelled", "reason": "cancelled by the user"})
        )
    return stopped


def _stop_session(record: JobRecord, grace_s: float) -> None:
    assert record.pid is not None
    try:
        os.kill(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _alive(record):
        time.sleep(0.2)
    if _alive(record):
        try:
            os.killpg(record.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class LocalExecutor(Executor):
    """The ``local`` executor: a :class:`LocalQueue` of worker processes on this host."""

    settings_model = LocalSettings

    @override
    def run(self, *, wait: bool = True) -> None:
        """Run every unfinished trial (always waits: the queue is this process)."""
        assert isinstance(self.settings, LocalSettings)
        LocalQueue(
            self.specs,
            self.runs_root,
            self.experiment_dir,
            slots=self.settings.slots,
            gpu_ids=self.settings.gpu_ids,
            log=self.log,
            extra_env=self.extra_env,
            watch=self.watch,
            echo_agent=self.echo_agent,
        ).run()

    @override
    @classmethod
    def cancel(cls, experiment_dir: Path) -> list[str]:
        """Stop the queue and its running workers (see :func:`cancel_local`)."""
        return cancel_local(experiment_dir)
