"""The agent contract: turn a prepared workspace into one command to run in the sandbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

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


class Agent(Protocol):
    """A scaffold: which host variables it needs and how to start it."""

    @property
    def env_keys(self) -> Sequence[str]:
        """Host environment variables passed into the sandbox (API keys, tokens)."""
        ...

    def invocation(self, context: AgentContext) -> AgentInvocation:
        """The command that runs the agent on ``context``."""
        ...


class AgentFactory(Protocol):
    """Registry entries build an agent from the config string of ``--agent name:config``."""

    def __call__(self, config: str) -> Agent:
        """An agent configured by ``config`` (empty for the default)."""
        ...
