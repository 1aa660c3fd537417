"""The agent contract: turn a prepared workspace into one command to run in the sandbox."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from posttrainbench.agents.trace import Trajectory

__all__ = ["CUT_SHORT_FILE", "Agent", "AgentContext", "AgentFactory", "AgentInvocation"]

CUT_SHORT_FILE = ".ptb-cut-short"
"""A file any agent may write in its workspace to say that the time budget cut its work
short (its first line says how, e.g. "training stopped at step 117 of 500"). The harness
copies that line into the trial's result; it never changes a score."""


@dataclass(frozen=True)
class AgentContext:
    """What an agent is told about its trial (paths are as seen inside the sandbox)."""

    workspace: Path
    task_dir: Path
    final_model: Path
    prompt_path: Path
    base_model: Path
    benchmark: str
    deadline: float
    """Epoch seconds at which the time budget ends."""
    gpus: int
    python: str
    """The harness's Python interpreter (has torch, transformers, trl)."""


@dataclass(frozen=True)
class AgentInvocation:
    """One process to start; the prompt travels in a file or on stdin, never in argv."""

    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra variables for the agent (merged into the sandbox's allow-listed environment)."""
    stdin_path: Path | None = None
    mounts: Sequence[Path] = ()
    """Host paths the agent needs to read (its CLI's install folder), exposed read-only."""


class Agent(ABC):
    """A scaffold: how to start it, and everything the trial runner may ask of it.

    Each capability the runner uses is stated here with a default, so an agent says what
    it supports by overriding a member, and the runner never asks what class it is:
    checks before the trial (:meth:`preflight`), the secrets to redact (:meth:`secrets`),
    how its output becomes a trace (:meth:`parse_trace`), resuming an ended session
    (:attr:`continue_min`, :meth:`resume_invocation`), and how its submission is treated
    (:attr:`harness_submission`, :attr:`eval_few_shot`).
    """

    eval_few_shot: int = 0
    """Examples from allowed data shown before each question at evaluation (0: none; the
    ``baseline-few-shot`` rows)."""
    harness_submission: bool = False
    """True when the harness, not an agent, chose the submitted model (baseline rows): the
    audit is recorded but never turns the score into the fallback."""

    @property
    def env_keys(self) -> Sequence[str]:
        """Host environment variables passed into the sandbox (API keys, tokens)."""
        return ()

    @property
    def continue_min(self) -> float | None:
        """Minutes of budget above which an ended session is resumed (None: never)."""
        return None

    @property
    def max_resumes(self) -> int:
        """Upper bound on resumes in one trial."""
        return 0

    @abstractmethod
    def invocation(self, context: AgentContext) -> AgentInvocation:
        """The command that runs the agent on ``context``."""

    def preflight(self) -> None:  # noqa: B027 - an optional hook: most agents need nothing
        """Raise a ``UserError`` when the agent cannot start here (default: it can)."""

    def secrets(self, env: Mapping[str, str]) -> list[str]:
        """Values to redact from everything stored (default: its variables' values)."""
        return [env[key] for key in self.env_keys if key in env]

    def parse_trace(self, raw_stream: Path, agent_name: str) -> Trajectory:
        """The normalised trace of ``raw_stream`` (default: each printed line is a step)."""
        from posttrainbench.agents.parsers import parse_stream

        return parse_stream(raw_stream, "plain", agent_name)

    def resume_invocation(
        self, context: AgentContext, session: str, message: Path
    ) -> AgentInvocation | None:
        """The command that continues ``session`` with ``message`` (default: cannot)."""
        return None


class AgentFactory(Protocol):
    """Registry entries build an agent from the config string of ``--agent name:config``."""

    def __call__(self, config: str) -> Agent:
        """An agent configured by ``config`` (empty for the default)."""
        ...
