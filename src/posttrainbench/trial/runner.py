"""Running one trial: one method per phase, each recorded, each resumable after a crash.

Each phase method returns its outcome and a typed end record (``trial.records``); the loop
records it in ``events.jsonl`` and emits lifecycle events (``trial.lifecycle``) to its
subscribers: the index, the resource monitor, and whatever a caller adds. ``run(until=)``
stops after a given phase; a later ``run`` resumes from there.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import overload

from posttrainbench import __version__
from posttrainbench._redact import Redactor
from posttrainbench._termination import raise_if_requested
from posttrainbench._warm import importing_meanwhile
from posttrainbench.agents import Agent, AgentContext, get_agent
from posttrainbench.agents.session import (
    agent_secrets,
    continuation,
    cut_short_of,
    preflight,
    usage_of,
    write_trace,
)
from posttrainbench.audit import AuditSettings, LlmJudgeSettings, run_audit
from posttrainbench.audit.registry import AUDIT_WARM_MODULES
from posttrainbench.benchmarks import Benchmark, get_benchmark
from posttrainbench.benchmarks.data import locked_entries
from posttrainbench.catalog import ResolvedModel, resolve_model
from posttrainbench.errors import UserError
from posttrainbench.records import (
    AuditPhaseRecord,
    AuditReport,
    CollectRecord,
    EvaluatePhaseRecord,
    FileHash,
    FinalizeRecord,
    PrepareRecord,
    SolveOutcome,
    SolveRecord,
    SubmissionRecord,
)
from posttrainbench.results import ResultStore, TrialResult
from posttrainbench.sandbox import Mount, SandboxRequest, SandboxResult, get_sandbox
from posttrainbench.sandbox.limits import default_limits
from posttrainbench.trial.access_log import AccessRecorder
from posttrainbench.trial.agent_data import CACHE_ENV, build_agent_data, package_masks
from posttrainbench.trial.agent_env import agent_environment, assigned_gpus, honeytokens
from posttrainbench.trial.audit import audit_context, instruct_fingerprints, reference_models
from posttrainbench.trial.eval_process import start_zygote
from posttrainbench.trial.events import PHASES, EventLog, Phase, utc_now
from posttrainbench.trial.failpoints import failpoint
from posttrainbench.trial.follow import StreamFollower
from posttrainbench.trial.journal_watch import JournalWatcher
from posttrainbench.trial.layout import RUN_FORMAT_VERSION, TrialPaths, index_path, trial_dir
from posttrainbench.trial.lifecycle import (
    EventKind,
    PhaseEnd,
    SolveMonitor,
    StoreIndexer,
    Subscriber,
    TrialEvent,
)
from posttrainbench.trial.lock import TrialLock
from posttrainbench.trial.manifest import manifest
from posttrainbench.trial.provenance import provenance
from posttrainbench.trial.records import (
    EvalOutcome,
    TrialRecord,
    read_format_version,
)
from posttrainbench.trial.scoring import base_score, evaluate_submission
from posttrainbench.trial.scrub import redact_stream, scrub_run_dir
from posttrainbench.trial.spec import TrialSpec
from posttrainbench.trial.submission import snapshot_submission
from posttrainbench.trial.workspace import prepare_workspace

__all__ = ["TrialRunner"]


def _grace_s(hours: float) -> float:
    # Upstream allows 5 minutes past the budget for wrap-up; short demo budgets get less.
    return min(300.0, max(10.0, hours * 3600 * 0.05))


def _kill_grace_s(hours: float) -> float:
    # Between SIGTERM at the limit and SIGKILL: 30 s, less for budgets under an hour.
    return min(30.0, max(3.0, hours * 3600 * 0.01))


@dataclass
class TrialRunner:
    """Runs ``spec`` under ``runs_root``, resuming after the last finished phase."""

    spec: TrialSpec
    runs_root: Path
    log: Callable[[str], None] = print
    monitor_interval_s: float = 5.0
    echo_agent: bool = False
    """Pass each line the agent prints to ``log`` as it comes (for demos)."""
    plant_honeytokens: bool = False
    """Plant decoy API keys in the agent's environment; the audit flags any use of them."""
    keep_checkpoints: bool = False
    """Keep the workspace's model folders other than final_model (dropped at finalize)."""
    subscribers: list[Subscriber] = field(default_factory=list)
    """Called with every lifecycle event, after the index and the monitor (see
    ``trial.lifecycle``); add more with :meth:`subscribe`."""

    def __post_init__(self) -> None:
        # Agents run elsewhere (their cwd is the workspace): every path must be absolute.
        self.runs_root = self.runs_root.absolute()
        # Validate everything a user can get wrong before anything is written.
        self.benchmark: Benchmark = get_benchmark(self.spec.benchmark)
        self.agent: Agent = get_agent(self.spec.agent, self.spec.agent_config)
        self.model: ResolvedModel = resolve_model(self.spec.model)
        self.sandbox = get_sandbox(None if self.spec.sandbox == "auto" else self.spec.sandbox)
        self.paths = TrialPaths(trial_dir(self.runs_root, self.spec))
        self.events = EventLog(self.paths.events)
        self.store = ResultStore(index_path(self.runs_root))
        self.subscribers = [
            StoreIndexer(self.store),
            SolveMonitor(self.monitor_interval_s),
            *self.subscribers,
        ]
        self._phases: dict[Phase, Callable[[], PhaseEnd]] = {
            Phase.PREPARE: self._prepare,
            Phase.SOLVE: self._solve,
            Phase.COLLECT: self._collect,
            Phase.AUDIT: self._audit,
            Phase.EVALUATE: self._evaluate,
            Phase.FINALIZE: self._finalize,
        }
        self._evaluates = True
        """Whether the current ``run`` goes as far as evaluate."""
        if self.events.ended(Phase.SOLVE) is None:
            preflight(self.agent)  # a missing CLI or key fails before anything is written

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber`` with every later lifecycle event of this trial."""
        self.subscribers.append(subscriber)

    @overload
    def run(self) -> TrialResult: ...

    @overload
    def run(self, until: Phase) -> TrialResult | None: ...

    def run(self, until: Phase | None = None) -> TrialResult | None:
        """Run every unfinished phase in order, up to ``until`` (all when None).

        Returns the result once finalize has ended, None when stopped earlier; a later
        ``run`` resumes after the last finished phase. The trial's lock is held from
        before prepare to the end of the last phase run: a second harness on the same
        trial stops at once with ``TrialBusyError``.
        """
        last = PHASES.index(until) if until is not None else len(PHASES) - 1
        self._make_root()
        with TrialLock(self.paths.lock, self.spec.trial_id, self.paths.events) as lock:
            self._open_run_dir()
            self._evaluates = last >= PHASES.index(Phase.EVALUATE)
            for phase in PHASES[: last + 1]:
                if self.events.ended(phase) is None:
                    raise_if_requested()  # a SIGTERM whose exception Python dropped
                    lock.check()
                    self._run_phase(phase)
            if self.events.ended(PHASES[-1]) is None:
                return None
            self._emit(TrialEvent(EventKind.DONE, self.spec, self.paths))
        return TrialResult.load(self.paths.result)

    def _run_phase(self, phase: Phase) -> None:
        """Run ``phase``: start recorded and emitted, then its method, then its end.

        Whatever raises in between (the phase, or a subscriber of its start) is emitted
        as ``FAILED`` and re-raised: the phase stays unfinished and resumes next time.
        """
        attempt = self.events.start(phase)
        self.log(
            f"[{self.spec.trial_id}] {phase.value}"
            + (f" (resumed, attempt {attempt})" if attempt > 1 else "")
        )
        try:
            self._emit(TrialEvent(EventKind.START, self.spec, self.paths, phase, attempt))
            failpoint(f"{phase.value}.start")
            outcome, record = self._phases[phase]()
        except BaseException as error:
            failed = TrialEvent(EventKind.FAILED, self.spec, self.paths, phase, attempt)
            self._emit(replace(failed, error=error))
            raise
        failpoint(f"{phase.value}.before_end")
        self.events.end(phase, outcome, record)
        self._emit(
            TrialEvent(EventKind.END, self.spec, self.paths, phase, attempt, outcome, record)
        )

    def _emit(self, event: TrialEvent) -> None:
        for subscriber in self.subscribers:
            subscriber(event)

    # -- run directory ---------------------------------------------------------------------

    def _open_run_dir(self) -> None:
        trial_json = self.paths.trial_json
        if trial_json.exists():
            self._check_existing(trial_json)
            return
        TrialRecord(
            format_version=RUN_FORMAT_VERSION,
            trial_id=self.spec.trial_id,
            spec=self.spec,
            created_at=utc_now(),
            model_path=str(self.model.path),
            model_family=self.model.family.value,
            sandbox=self.sandbox.name,
            isolated=self.sandbox.isolated,
            provenance=provenance(),
            # The data.lock entries evaluation will verify the benchmark's files against.
            data_lock=locked_entries(self.benchmark.data_sources),
        ).save(trial_json)

    def _make_root(self) -> None:
        try:
            self.paths.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(
                f"Cannot create the run directory {self.paths.root}: {error}. "
                "Choose a writable --runs-dir."
            ) from error

    def check_existing(self) -> None:
        """Raise the ``UserError`` of an existing folder this harness cannot resume.

        The folder may have been written by a harness of another run format, or for
        another spec; a caller that queues trials checks this before anything starts.
        """
        if self.paths.trial_json.exists():
            self._check_existing(self.paths.trial_json)

    def _check_existing(self, trial_json: Path) -> None:
        # The run format is checked before the record is parsed: another layout may not parse.
        version = read_format_version(trial_json)
        if version != RUN_FORMAT_VERSION:
            raise UserError(
                f"{self.paths.root} was written by a harness with run format {version}; this "
                f"harness (v{__version__}) reads format {RUN_FORMAT_VERSION}. Use another "
                "--runs-dir or --experiment, or the harness version that wrote it."
            )
        stored = TrialRecord.load(trial_json).spec
        if stored.identity() != self.spec.identity():
            raise UserError(f"{self.paths.root} belongs to a different trial spec.")

    def _prepared(self) -> PrepareRecord:
        return self.events.record(Phase.PREPARE, PrepareRecord)

    # -- phases ----------------------------------------------------------------------------

    def _prepare(self) -> PhaseEnd:
        prepared = prepare_workspace(
            self.spec, self.benchmark, self.model, self.paths, now=time.time()
        )
        for private in (self.paths.agent_tmp, self.paths.agent_home):
            private.mkdir(exist_ok=True)
        agent_data_files = None
        if self.benchmark.data_sources:
            agent_data = build_agent_data(self.benchmark, self.paths.agent_data)
            for message in agent_data.missing:
                self.log(f"[{self.spec.trial_id}] warning: {message}")
            agent_data_files = [str(path) for path in agent_data.files]
        record = PrepareRecord(
            deadline=prepared.deadline,
            given_files=_hashes(prepared.given_files),
            # Compared after solve by the integrity detector: the base must stay untouched.
            base_model_files=_hashes(manifest(self.model.path)),
            # Seeds the memorization test's twins: drawn per trial and kept outside the
            # sandbox, so an agent that reads the harness code cannot train on the twins.
            twin_seed=secrets.randbits(63),
            agent_data_files=agent_data_files,
            honeytokens=(
                honeytokens(exclude=self.agent.env_keys)
                if self.plant_honeytokens or self.spec.honeytokens
                else None
            ),
        )
        return PhaseEnd("ok", record)

    def _solve(self) -> PhaseEnd:
        if self.paths.solve_outcome.exists():
            # The agent already ended before a crash: never run it twice.
            if not self.paths.trace.exists():
                self._write_trace()
            return self._solve_result(SolveOutcome.load(self.paths.solve_outcome))
        deadline = self._prepared().deadline
        remaining = deadline + _grace_s(self.spec.hours) - time.time()
        if remaining <= 0:
            outcome = SolveOutcome(outcome="time_over", ended_at=time.time())
        else:
            # While the agent runs: the evaluation's imports in its zygote (started here, on
            # the main thread, which it dies with), the audit's on a thread of this process.
            # Both are done already in a worker forked from a warm zygote (it forked its own
            # at its start). A resumed trial whose agent had ended starts the zygote when it
            # evaluates.
            if self._evaluates:
                start_zygote()
            with importing_meanwhile(AUDIT_WARM_MODULES):
                outcome = self._run_agent(deadline, remaining)
        outcome.save(self.paths.solve_outcome)
        self._write_trace()
        return self._solve_result(outcome)

    def _solve_result(self, outcome: SolveOutcome) -> PhaseEnd:
        started = self._prepared().deadline - self.spec.hours * 3600
        record = SolveRecord(
            **outcome.model_dump(), solve_seconds=max(0.0, outcome.ended_at - started)
        )
        return PhaseEnd(record.outcome, record)

    def _run_agent(self, deadline: float, time_limit: float) -> SolveOutcome:
        paths = self.paths
        context = AgentContext(
            workspace=paths.workspace,
            task_dir=paths.task_dir,
            final_model=paths.final_model,
            prompt_path=paths.prompt,
            base_model=self.model.path,
            benchmark=self.spec.benchmark,
            deadline=deadline,
            gpus=self.spec.gpus,
            python=sys.executable,
        )
        invocation = self.agent.invocation(context)
        gpu_ids = assigned_gpus(self.spec.gpus)
        env = agent_environment(
            paths.workspace, self.spec.gpus, self.agent.env_keys, invocation.env, gpu_ids=gpu_ids
        )
        prepared = self._prepared()
        decoys = prepared.honeytokens or {}
        env = {**decoys, **env}  # a variable the scaffold really needs keeps its real value
        env["HOME"] = str(paths.agent_home)
        for private in (paths.agent_tmp, paths.agent_home):  # a trial prepared before them
            private.mkdir(exist_ok=True)
        if prepared.agent_data_files is not None:
            env[CACHE_ENV] = str(paths.agent_data)  # task/evaluate.py reads only these files
        masks = package_masks(self.benchmark, paths.agent_data)
        recorder = AccessRecorder(
            paths.access_fifo,
            paths.test_access,
            watched=[
                paths.agent_data,
                *map(Path, prepared.agent_data_files or ()),
                *(hidden for _, hidden in masks),
            ],
            exempt=paths.task_dir / "evaluate.py",
            kernel_watch=self.sandbox.host_python,
            given=frozenset(name.split("/")[0] for name in prepared.given_files),
        )
        env.update(recorder.env(env.get("PYTHONPATH")))
        recorder.agent_env = dict(env)
        request = SandboxRequest(
            argv=list(invocation.argv),
            cwd=paths.workspace,
            env=env,
            time_limit_s=time_limit,
            kill_grace_s=_kill_grace_s(self.spec.hours),
            output_path=paths.raw_stream,
            mounts=[
                *self._agent_mounts(masks),
                *map(Mount, invocation.mounts),
                Mount(paths.access_fifo, writable=True),
            ],
            stdin_path=invocation.stdin_path,
            gpus=tuple(gpu_ids),
            secrets=tuple(agent_secrets(self.agent, env)),
            limits=default_limits(
                self.spec.limits, (paths.workspace, paths.agent_tmp, paths.agent_home)
            ),
            network=self.spec.network,
            egress_log=paths.egress,
        )
        paths.agent_dir.mkdir(parents=True, exist_ok=True)
        self.log(
            f"[{self.spec.trial_id}] agent running in sandbox '{self.sandbox.name}' "
            f"(limit {time_limit / 60:.1f} min, network {self.spec.network.describe()})"
        )
        follower = StreamFollower(paths.raw_stream, self.log) if self.echo_agent else nullcontext()
        watched = [paths.workspace, paths.agent_tmp, paths.agent_home]
        with (
            follower,
            JournalWatcher(paths.journal, watched),  # what the agent writes, even if deleted
            recorder,  # reads of the test split, by process
        ):
            result = self.sandbox.run(request)
            result, resumes = self._continue_agent(context, request, result, deadline)
        outcome = (
            "timed_out" if result.timed_out else ("exited" if result.exit_code == 0 else "failed")
        )
        if result.limit_exceeded:
            outcome = "limit_exceeded"
            self.log(f"[{self.spec.trial_id}] agent ended at a limit: {result.limit_exceeded}")
        return SolveOutcome(
            outcome=outcome,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            ended_at=time.time(),
            resumes=resumes,
            isolated=self.sandbox.isolated,
            limit_exceeded=result.limit_exceeded,
            peaks=dict(result.peaks),
            limits=request.limits.record() if request.limits else None,
        )

    def _continue_agent(
        self, context: AgentContext, request: SandboxRequest, result: SandboxResult, deadline: float
    ) -> tuple[SandboxResult, int]:
        """Continue-until-budget: resume the agent's session while it exits early."""
        resumes, total_s = 0, result.duration_s
        while result.exit_code == 0 and not result.timed_out:
            message = self.paths.continue_message
            invocation = continuation(
                self.agent, context, self.paths.raw_stream, message, deadline - time.time(), resumes
            )
            if invocation is None:
                break
            resumes += 1
            self.log(f"[{self.spec.trial_id}] agent ended early; resuming its session ({resumes})")
            request = replace(
                request,
                argv=list(invocation.argv),
                stdin_path=invocation.stdin_path,
                mounts=[*request.mounts, Mount(message)] if resumes == 1 else request.mounts,
                time_limit_s=deadline + _grace_s(self.spec.hours) - time.time(),
            )
            result = self.sandbox.run(request)
            total_s += result.duration_s
        return replace(result, duration_s=total_s), resumes

    def _write_trace(self) -> None:
        secrets = agent_secrets(self.agent, dict(os.environ))
        if self.paths.raw_stream.is_file():
            redact_stream(self.paths.raw_stream, Redactor(secrets))  # cut across records too
        write_trace(self.agent, self.spec.agent, self.paths.raw_stream, self.paths.trace, secrets)

    def _agent_mounts(self, masks: list[tuple[Path, Path]]) -> list[Mount]:
        """What the agent sees; ``masks``: (empty file, package file it hides)."""
        model_root = self.model.path
        if model_root.parent.name == "snapshots":  # HF cache: expose the repo for blob links
            model_root = model_root.parent.parent
        data_files = self._prepared().agent_data_files
        data_mounts = [self.paths.agent_data] if data_files is not None else []
        # Copies lie inside agent_data; a trial prepared before copies links to the cache.
        data_mounts += [
            p for p in map(Path, data_files or ()) if not p.is_relative_to(self.paths.agent_data)
        ]
        return [
            Mount(self.paths.workspace, writable=True),
            Mount(self.paths.agent_tmp, writable=True, target=Path("/tmp")),
            Mount(self.paths.agent_home, writable=True),
            Mount(self.paths.prompt),
            Mount(model_root),
            *map(Mount, data_mounts),
            *(Mount(empty, target=hidden) for empty, hidden in masks),
        ]

    def _collect(self) -> PhaseEnd:
        record = snapshot_submission(self.paths)
        record.save(self.paths.submission)
        if record.reason:
            self.log(f"[{self.spec.trial_id}] submission: {record.reason}")
        collected = CollectRecord(present=record.present, reason=record.reason)
        return PhaseEnd("ok" if record.present else "missing", collected)

    def _audit(self) -> PhaseEnd:
        context = audit_context(
            self.paths,
            self.benchmark,
            self.model.path,
            self._prepared(),
            scaffold_env_keys=self.agent.env_keys,
            settings=(
                AuditSettings(llm_judge=LlmJudgeSettings.from_env(os.environ))
                if self.spec.audit_llm_judge
                else None
            ),
            references=reference_models(self.spec.model),
            fingerprints=self.instruct_fingerprints(),
        )
        report = run_audit(context)
        report.save(self.paths.audit)
        return PhaseEnd(report.verdict, AuditPhaseRecord(verdict=report.verdict))

    def instruct_fingerprints(self) -> list[Path]:
        """Weight fingerprints lineage compares the submission with (see ``trial.audit``).

        An extension point: a subclass may name other fingerprints (the red-team corpus
        names its instruct stand-in's).
        """
        return instruct_fingerprints(self.spec.model)

    def _evaluate(self) -> PhaseEnd:
        if not self.paths.eval_outcome.exists():
            self._score().save(self.paths.eval_outcome)
        scored = EvalOutcome.load(self.paths.eval_outcome)
        record = EvaluatePhaseRecord(score=scored.score, fallback_reason=scored.fallback_reason)
        return PhaseEnd("fallback" if scored.fallback_reason else "ok", record)

    def _score(self) -> EvalOutcome:
        submission = SubmissionRecord.load(self.paths.submission)
        raw = error = None
        if submission.present:
            for leftover in self.paths.eval_dir.glob("attempt-*"):
                shutil.rmtree(leftover)
            outcome = evaluate_submission(
                self.paths.submitted_model,
                self.spec.benchmark,
                self.model.family,
                self.paths.eval_dir,
                self.log,
                # Baseline rows (agents.baselines) score with few-shot examples.
                few_shot=self.agent.eval_few_shot,
                base_dir=self.model.path,
                protocol=self.spec.protocol,
            )
            raw, error = outcome.metrics, outcome.error
        else:
            error = submission.reason
        audit = AuditReport.load(self.paths.audit)
        reason = error if raw is None else None
        # A baseline's model is the harness's choice (the instruct model is "not a
        # fine-tune" by design): its audit is recorded but never replaces its score.
        trusted = self.agent.harness_submission
        if audit.verdict in {"flagged", "error"} and not trusted:
            # Keep an evaluation failure visible next to the audit's verdict.
            reason = f"audit verdict {audit.verdict}" + (f"; {reason}" if reason else "")
        base = (
            base_score(
                self.model, self.spec.benchmark, self.runs_root, self.log, self.spec.protocol
            )
            if reason
            else None
        )
        score = (
            raw.accuracy if raw is not None and not reason else (base.accuracy if base else None)
        )
        return EvalOutcome(
            score=score,
            # The data.lock entries of the files the evaluation read (empty: no lock).
            data_lock=locked_entries(self.benchmark.data_sources),
            raw=raw,
            base=base,
            fallback_reason=reason,
        )

    def _finalize(self) -> PhaseEnd:
        secrets = agent_secrets(self.agent, dict(os.environ))
        kept = scrub_run_dir(self.paths, secrets, keep_checkpoints=self.keep_checkpoints)
        spec, scored = self.spec, EvalOutcome.load(self.paths.eval_outcome)
        solve = self.events.record(Phase.SOLVE, SolveRecord)
        raw = scored.raw
        result = TrialResult(
            trial_id=spec.trial_id,
            experiment=spec.experiment,
            agent=spec.agent,
            agent_config=spec.agent_config,
            model=spec.model,
            benchmark=spec.benchmark,
            hours=spec.hours,
            replicate=spec.replicate,
            score=scored.score,
            raw_score=raw.accuracy if raw else None,
            base_score=scored.base.accuracy if scored.base else None,
            stderr=raw.stderr if raw else None,
            fallback_reason=scored.fallback_reason,
            audit_verdict=self.events.record(Phase.AUDIT, AuditPhaseRecord).verdict,
            solve_seconds=solve.solve_seconds,
            solve_outcome=solve.outcome,
            harness_version=__version__,
            finished_at=utc_now(),
            **usage_of(self.paths.trace),
            cut_short=cut_short_of(solve.outcome, self.paths.workspace),
            isolated=solve.isolated is not False,
        )
        if not self.paths.result.exists():
            result.save(self.paths.result)
        return PhaseEnd("ok", FinalizeRecord(score=result.score, kept=kept))


def _hashes(manifest: dict[str, dict[str, object]]) -> dict[str, FileHash]:
    return {name: FileHash.model_validate(entry) for name, entry in manifest.items()}
