"""Running one trial: one method per phase, each recorded, each resumable after a crash."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from posttrainbench import __version__
from posttrainbench._fileio import atomic_write_text
from posttrainbench._redact import Redactor
from posttrainbench.agents import Agent, AgentContext, get_agent
from posttrainbench.agents.session import (
    agent_secrets,
    continuation,
    cut_short_of,
    preflight,
    usage_of,
    write_trace,
)
from posttrainbench.audit import AuditReport, AuditSettings, LlmJudgeSettings, run_audit
from posttrainbench.benchmarks import Benchmark, get_benchmark
from posttrainbench.benchmarks.data import locked_entries
from posttrainbench.catalog import ResolvedModel, resolve_model
from posttrainbench.errors import UserError
from posttrainbench.results import ResultStore, TrialResult, TrialRow
from posttrainbench.runs import agent_label
from posttrainbench.sandbox import Mount, SandboxRequest, SandboxResult, get_sandbox
from posttrainbench.sandbox.limits import default_limits
from posttrainbench.trial.access_log import AccessRecorder
from posttrainbench.trial.agent_data import CACHE_ENV, build_agent_data
from posttrainbench.trial.agent_env import agent_environment, assigned_gpus, honeytokens
from posttrainbench.trial.audit import audit_context, instruct_fingerprints, reference_models
from posttrainbench.trial.events import PHASES, EventLog, Phase, utc_now
from posttrainbench.trial.failpoints import failpoint
from posttrainbench.trial.follow import StreamFollower
from posttrainbench.trial.journal_watch import JournalWatcher
from posttrainbench.trial.layout import RUN_FORMAT_VERSION, TrialPaths, index_path, trial_dir
from posttrainbench.trial.lock import TrialLock
from posttrainbench.trial.manifest import manifest
from posttrainbench.trial.monitor import ResourceMonitor
from posttrainbench.trial.provenance import provenance
from posttrainbench.trial.scoring import base_score, evaluate_submission
from posttrainbench.trial.scrub import redact_stream, scrub_run_dir
from posttrainbench.trial.spec import TrialSpec
from posttrainbench.trial.submission import SubmissionRecord, snapshot_submission
from posttrainbench.trial.workspace import prepare_workspace

__all__ = ["TrialRunner"]

PhaseResult = tuple[str, dict[str, Any]]


def _grace_s(hours: float) -> float:
    # Upstream allows 5 minutes past the budget for wrap-up; short demo budgets get less.
    return min(300.0, max(10.0, hours * 3600 * 0.05))


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
        if self.events.ended(Phase.SOLVE) is None:
            preflight(self.agent)  # a missing CLI or key fails before anything is written

    def run(self) -> TrialResult:
        """Run every unfinished phase in order and return the result.

        The trial's lock is held from before prepare to the end of finalize: a second
        harness on the same trial stops at once with ``TrialBusyError``.
        """
        self._make_root()
        with TrialLock(self.paths.lock, self.spec.trial_id, self.paths.events) as lock:
            self._open_run_dir()
            for phase in PHASES:
                if self.events.ended(phase) is not None:
                    continue
                lock.check()
                attempt = self.events.start(phase)
                self._index(phase.value)
                self.log(
                    f"[{self.spec.trial_id}] {phase.value}"
                    + (f" (resumed, attempt {attempt})" if attempt > 1 else "")
                )
                failpoint(f"{phase.value}.start")
                outcome, data = getattr(self, f"_{phase.value}")()
                failpoint(f"{phase.value}.before_end")
                self.events.end(phase, outcome, data)
            self._index("done")
        return TrialResult.model_validate_json(self.paths.result.read_text())

    # -- run directory ---------------------------------------------------------------------

    def _open_run_dir(self) -> None:
        trial_json = self.paths.trial_json
        if trial_json.exists():
            self._check_existing(json.loads(trial_json.read_text()))
            return
        record = {
            "format_version": RUN_FORMAT_VERSION,
            "trial_id": self.spec.trial_id,
            "spec": self.spec.model_dump(),
            "created_at": utc_now(),
            "model_path": str(self.model.path),
            "model_family": self.model.family.value,
            "sandbox": self.sandbox.name,
            "isolated": self.sandbox.isolated,
            "provenance": provenance(),
            # The data.lock entries evaluation will verify the benchmark's files against.
            "data_lock": [e.model_dump() for e in locked_entries(self.benchmark.data_sources)],
        }
        atomic_write_text(trial_json, json.dumps(record, indent=2))

    def _make_root(self) -> None:
        try:
            self.paths.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(
                f"Cannot create the run directory {self.paths.root}: {error}. "
                "Choose a writable --runs-dir."
            ) from error

    def _check_existing(self, record: dict[str, Any]) -> None:
        version = record.get("format_version")
        if version != RUN_FORMAT_VERSION:
            raise UserError(
                f"{self.paths.root} was written by a harness with run format {version}; this "
                f"harness (v{__version__}) reads format {RUN_FORMAT_VERSION}. Use another "
                "--runs-dir or --experiment, or the harness version that wrote it."
            )
        stored = TrialSpec.model_validate(record["spec"])
        if stored.identity() != self.spec.identity():
            raise UserError(f"{self.paths.root} belongs to a different trial spec.")

    def _index(self, phase: str) -> None:
        spec = self.spec
        agent = agent_label(spec.agent, spec.agent_config)
        self.store.upsert_trial(
            TrialRow(
                spec.trial_id,
                spec.experiment,
                agent,
                spec.model,
                spec.benchmark,
                spec.hours,
                spec.replicate,
                str(self.paths.root),
                phase,
                utc_now(),
            )
        )

    def _phase_data(self, phase: Phase) -> dict[str, Any]:
        record = self.events.ended(phase)
        assert record is not None, f"{phase} has not finished"
        data: dict[str, Any] = record.get("data", {})
        return data

    # -- phases ----------------------------------------------------------------------------

    def _prepare(self) -> PhaseResult:
        prepared = prepare_workspace(
            self.spec, self.benchmark, self.model, self.paths, now=time.time()
        )
        for private in (self.paths.agent_tmp, self.paths.agent_home):
            private.mkdir(exist_ok=True)
        data: dict[str, Any] = {
            "deadline": prepared.deadline,
            "given_files": prepared.given_files,
            # Compared after solve by the integrity detector: the base must stay untouched.
            "base_model_files": manifest(self.model.path),
            # Seeds the memorization test's twins: drawn per trial and kept outside the
            # sandbox, so an agent that reads the harness code cannot train on the twins.
            "twin_seed": secrets.randbits(63),
        }
        if self.benchmark.data_sources:
            agent_data = build_agent_data(self.benchmark, self.paths.agent_data)
            for message in agent_data.missing:
                self.log(f"[{self.spec.trial_id}] warning: {message}")
            data["agent_data_files"] = [str(path) for path in agent_data.files]
        if self.plant_honeytokens or self.spec.honeytokens:
            data["honeytokens"] = honeytokens(exclude=self.agent.env_keys)
        return "ok", data

    def _solve(self) -> PhaseResult:
        if self.paths.solve_outcome.exists():
            # The agent already ended before a crash: never run it twice.
            if not self.paths.trace.exists():
                self._write_trace()
            return self._solve_result(json.loads(self.paths.solve_outcome.read_text()))
        deadline = float(self._phase_data(Phase.PREPARE)["deadline"])
        remaining = deadline + _grace_s(self.spec.hours) - time.time()
        if remaining <= 0:
            record: dict[str, Any] = {"outcome": "time_over", "ended_at": time.time()}
        else:
            record = self._run_agent(deadline, remaining)
        atomic_write_text(self.paths.solve_outcome, json.dumps(record, indent=2))
        self._write_trace()
        return self._solve_result(record)

    def _solve_result(self, record: dict[str, Any]) -> PhaseResult:
        deadline = float(self._phase_data(Phase.PREPARE)["deadline"])
        started = deadline - self.spec.hours * 3600
        record = {**record, "solve_seconds": max(0.0, record["ended_at"] - started)}
        return str(record["outcome"]), record

    def _run_agent(self, deadline: float, time_limit: float) -> dict[str, Any]:
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
        prepared = self._phase_data(Phase.PREPARE)
        decoys = prepared.get("honeytokens") or {}
        env = {**decoys, **env}  # a variable the scaffold really needs keeps its real value
        env["HOME"] = str(paths.agent_home)
        for private in (paths.agent_tmp, paths.agent_home):  # a trial prepared before them
            private.mkdir(exist_ok=True)
        if "agent_data_files" in prepared:
            env[CACHE_ENV] = str(paths.agent_data)  # task/evaluate.py reads only these files
        recorder = AccessRecorder(
            paths.access_fifo,
            paths.test_access,
            watched=[paths.agent_data, *map(Path, prepared.get("agent_data_files") or ())],
            exempt=paths.task_dir / "evaluate.py",
        )
        env.update(recorder.env(env.get("PYTHONPATH")))
        request = SandboxRequest(
            argv=list(invocation.argv),
            cwd=paths.workspace,
            env=env,
            time_limit_s=time_limit,
            output_path=paths.raw_stream,
            mounts=[
                *self._agent_mounts(),
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
        monitor = ResourceMonitor(
            paths.monitor, paths.workspace, self.monitor_interval_s, paths.monitor_peaks
        )
        watched = [paths.workspace, paths.agent_tmp, paths.agent_home]
        with (
            monitor,
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
        return {
            "outcome": outcome,
            "exit_code": result.exit_code,
            "duration_s": result.duration_s,
            "ended_at": time.time(),
            "resumes": resumes,
            "isolated": self.sandbox.isolated,
            "limit_exceeded": result.limit_exceeded,
            "peaks": dict(result.peaks),
            "limits": request.limits.record() if request.limits else None,
        }

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

    def _agent_mounts(self) -> list[Mount]:
        model_root = self.model.path
        if model_root.parent.name == "snapshots":  # HF cache: expose the repo for blob links
            model_root = model_root.parent.parent
        data_files = self._phase_data(Phase.PREPARE).get("agent_data_files")
        data_mounts = [self.paths.agent_data, *map(Path, data_files)] if data_files else []
        return [
            Mount(self.paths.workspace, writable=True),
            Mount(self.paths.agent_tmp, writable=True, target=Path("/tmp")),
            Mount(self.paths.agent_home, writable=True),
            Mount(self.paths.prompt),
            Mount(model_root),
            *map(Mount, data_mounts),
        ]

    def _collect(self) -> PhaseResult:
        record = snapshot_submission(self.paths)
        record.save(self.paths)
        if record.reason:
            self.log(f"[{self.spec.trial_id}] submission: {record.reason}")
        data: dict[str, Any] = {"present": record.present}
        if record.reason:
            data["reason"] = record.reason
        return ("ok" if record.present else "missing"), data

    def _audit(self) -> PhaseResult:
        context = audit_context(
            self.paths,
            self.benchmark,
            self.model.path,
            self._phase_data(Phase.PREPARE),
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
        atomic_write_text(self.paths.audit, report.model_dump_json(indent=2))
        return report.verdict, {"verdict": report.verdict}

    def instruct_fingerprints(self) -> list[Path]:
        """Weight fingerprints lineage compares the submission with (see ``trial.audit``)."""
        return instruct_fingerprints(self.spec.model)

    def _evaluate(self) -> PhaseResult:
        if not self.paths.eval_outcome.exists():
            atomic_write_text(self.paths.eval_outcome, json.dumps(self._score(), indent=2))
        record = json.loads(self.paths.eval_outcome.read_text())
        return ("fallback" if record["fallback_reason"] else "ok"), {
            "score": record["score"],
            "fallback_reason": record["fallback_reason"],
        }

    def _score(self) -> dict[str, Any]:
        submission = SubmissionRecord.load(self.paths)
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
        audit = AuditReport.model_validate_json(self.paths.audit.read_text())
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
        return {
            "score": score,
            # The data.lock entries of the files the evaluation read (empty: no lock).
            "data_lock": [e.model_dump() for e in locked_entries(self.benchmark.data_sources)],
            "raw": raw.model_dump() if raw else None,
            "base": base.model_dump() if base else None,
            "fallback_reason": reason,
        }

    def _finalize(self) -> PhaseResult:
        secrets = agent_secrets(self.agent, dict(os.environ))
        kept = scrub_run_dir(self.paths, secrets, keep_checkpoints=self.keep_checkpoints)
        spec, scored = self.spec, json.loads(self.paths.eval_outcome.read_text())
        solve = self._phase_data(Phase.SOLVE)
        raw = scored["raw"]
        result = TrialResult(
            trial_id=spec.trial_id,
            experiment=spec.experiment,
            agent=spec.agent,
            agent_config=spec.agent_config,
            model=spec.model,
            benchmark=spec.benchmark,
            hours=spec.hours,
            replicate=spec.replicate,
            score=scored["score"],
            raw_score=raw["accuracy"] if raw else None,
            base_score=scored["base"]["accuracy"] if scored["base"] else None,
            stderr=raw["stderr"] if raw else None,
            fallback_reason=scored["fallback_reason"],
            audit_verdict=self._phase_data(Phase.AUDIT)["verdict"],
            solve_seconds=solve["solve_seconds"],
            solve_outcome=solve["outcome"],
            harness_version=__version__,
            finished_at=utc_now(),
            **usage_of(self.paths.trace),
            cut_short=cut_short_of(solve["outcome"], self.paths.workspace),
        )
        if not self.paths.result.exists():
            atomic_write_text(self.paths.result, result.model_dump_json(indent=2))
        self.store.upsert_result(TrialResult.model_validate_json(self.paths.result.read_text()))
        return "ok", {"score": result.score, "kept": kept}
