"""Every file name of a trial's run directory, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from posttrainbench.runs import TRIAL_RECORD, RunsLayout

if TYPE_CHECKING:
    from posttrainbench.trial.spec import TrialSpec

__all__ = ["RUN_FORMAT_VERSION", "TrialPaths", "index_path", "trial_dir"]

RUN_FORMAT_VERSION = 1
"""Bumped when the run-directory layout changes incompatibly."""


def trial_dir(runs_root: Path, spec: TrialSpec) -> Path:
    """Where the run directory of ``spec`` lives (``runs.RunsLayout`` names it)."""
    return RunsLayout(runs_root).trial_dir(spec.experiment, spec.trial_id)


def index_path(runs_root: Path) -> Path:
    """The SQLite index of a runs directory (``runs.RunsLayout.index``)."""
    return RunsLayout(runs_root).index


@dataclass(frozen=True)
class TrialPaths:
    """Paths inside ``runs/<experiment>/<trial-id>/``."""

    root: Path

    @property
    def trial_json(self) -> Path:
        """Spec and provenance, written once when the trial is created."""
        return self.root / TRIAL_RECORD

    @property
    def events(self) -> Path:
        """Append-only phase events."""
        return self.root / "events.jsonl"

    @property
    def prompt(self) -> Path:
        """The rendered prompt given to the agent."""
        return self.root / "prompt.txt"

    @property
    def workspace(self) -> Path:
        """What the agent saw and wrote; the only place it can write."""
        return self.root / "workspace"

    @property
    def task_dir(self) -> Path:
        """Harness-given files inside the workspace (evaluate.py, templates/, timer.sh)."""
        return self.workspace / "task"

    @property
    def final_model(self) -> Path:
        """Where the agent must leave its submission."""
        return self.workspace / "final_model"

    @property
    def agent_dir(self) -> Path:
        """Raw agent stream and (later) the normalised trace."""
        return self.root / "agent"

    @property
    def raw_stream(self) -> Path:
        """Every line the agent printed, timestamped, as JSON lines."""
        return self.agent_dir / "raw.jsonl"

    @property
    def trace(self) -> Path:
        """The normalised trace (ATIF-compatible), with usage and cost totals."""
        return self.agent_dir / "trace.json"

    @property
    def continue_message(self) -> Path:
        """The message a resumed agent session gets on stdin (continue-until-budget)."""
        return self.agent_dir / "continue.txt"

    @property
    def agent_data(self) -> Path:
        """Private copies of the benchmark's data files, the agent's read-only data cache."""
        return self.agent_dir / "data"

    @property
    def solve_outcome(self) -> Path:
        """How the agent's process ended (written as soon as it ends)."""
        return self.agent_dir / "solve_outcome.json"

    @property
    def monitor(self) -> Path:
        """Periodic resource samples during solve."""
        return self.root / "monitor.jsonl"

    @property
    def monitor_peaks(self) -> Path:
        """Highest values of the monitor's samples (load, host and GPU memory in use)."""
        return self.root / "monitor_peaks.json"

    @property
    def submission(self) -> Path:
        """Manifest of final_model (files, sizes, hashes) frozen after solve."""
        return self.root / "submission.json"

    @property
    def submitted_model(self) -> Path:
        """Read-only snapshot of final_model taken at collect: what is audited and scored."""
        return self.root / "submission"

    @property
    def lock(self) -> Path:
        """Held by the one harness running this trial (host, pid, start, heartbeat)."""
        return self.root / ".lock"

    @property
    def agent_tmp(self) -> Path:
        """The agent's /tmp: a folder of the trial, kept, size-limited."""
        return self.root / "agent_tmp"

    @property
    def agent_home(self) -> Path:
        """The agent's $HOME: a folder of the trial, kept, size-limited."""
        return self.root / "agent_home"

    @property
    def journal(self) -> Path:
        """Content-addressed copies of files the agent wrote during solve, kept after deletion."""
        return self.root / "journal"

    @property
    def egress(self) -> Path:
        """Every outbound connection the agent made (time, address, port, bytes, DNS names)."""
        return self.agent_dir / "egress.jsonl"

    @property
    def test_access(self) -> Path:
        """Reads of the test split by the agent's processes (evaluate.py runs excepted)."""
        return self.agent_dir / "test_access.jsonl"

    @property
    def access_fifo(self) -> Path:
        """The pipe the agent's Python audit hook writes test-split reads to (solve only)."""
        return self.root / ".access.fifo"

    @property
    def audit(self) -> Path:
        """Audit findings and verdict."""
        return self.root / "audit.json"

    @property
    def eval_dir(self) -> Path:
        """Final evaluation outputs (inspect logs, metrics.json)."""
        return self.root / "eval"

    @property
    def eval_outcome(self) -> Path:
        """What the evaluate phase concluded (score or failure reason, fallback)."""
        return self.eval_dir / "outcome.json"

    @property
    def result(self) -> Path:
        """The trial's final result."""
        return self.root / "result.json"
