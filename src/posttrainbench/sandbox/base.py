"""The sandbox contract: run one argv with limits and mounts, kill the whole tree at the end."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from posttrainbench.sandbox.limits import Limits
from posttrainbench.sandbox.network import INTERNET, NetworkPolicy

__all__ = ["Mount", "Sandbox", "SandboxRequest", "SandboxResult"]


@dataclass(frozen=True)
class Mount:
    """A host path made visible inside the sandbox (at the same path unless ``target``)."""

    source: Path
    writable: bool = False
    target: Path | None = None

    @property
    def inside(self) -> Path:
        """Where the mount appears inside the sandbox."""
        return self.target or self.source


@dataclass(frozen=True)
class SandboxRequest:
    """Everything a backend needs to run one agent process tree."""

    argv: Sequence[str]
    """Command to run; never contains the prompt (it arrives by file or stdin)."""
    cwd: Path
    """Working directory (inside the sandbox)."""
    env: Mapping[str, str]
    """The complete environment: an allow-list built by the caller, nothing is inherited."""
    time_limit_s: float
    """Wall-clock limit; at the limit the tree gets SIGTERM, then SIGKILL after the grace."""
    output_path: Path
    """JSON lines appended here, one per output line: {"ts", "stream", "line"}."""
    mounts: Sequence[Mount] = ()
    """Extra paths to expose; ``writable`` ones are the only places the agent can write."""
    stdin_path: Path | None = None
    """File fed to the process's stdin (the prompt, for CLIs that read it there)."""
    network: NetworkPolicy = INTERNET
    """What the agent's network may reach (``internet``, ``none`` or ``allow``); see
    :mod:`posttrainbench.sandbox.network`."""
    egress_log: Path | None = None
    """Where the agent's outbound connections are logged (JSON lines), where the backend can."""
    gpus: Sequence[int] = ()
    """Host GPU indices to expose; the caller sets CUDA_VISIBLE_DEVICES to them, and a
    backend that shows only these devices renumbers it from 0, as CUDA then counts."""
    kill_grace_s: float = 30.0
    """Seconds between SIGTERM and SIGKILL at the time limit."""
    extra: Mapping[str, str] = field(default_factory=dict)
    """Backend-specific options."""
    secrets: Sequence[str] = ()
    """Values replaced by ``[REDACTED]`` in every output line before it is written."""
    limits: Limits | None = None
    """Memory, process and disk limits; breaching one ends the run (None: unlimited)."""


@dataclass(frozen=True)
class SandboxResult:
    """How the process tree ended."""

    exit_code: int | None
    """Exit status of the top process; None when it was killed."""
    timed_out: bool
    """True when the time limit ended the run."""
    duration_s: float
    limit_exceeded: str | None = None
    """The limit that ended the run, with its evidence (memory, processes, disk, stalled)."""
    peaks: Mapping[str, int] = field(default_factory=dict)
    """Highest memory bytes, process count and disk bytes seen during the run."""


class Sandbox(ABC):
    """A way to run an agent's process tree with isolation and a hard time limit."""

    name: str
    isolated: bool = True
    """False for a backend that shows the agent the host (``process``): its trials say so."""
    host_python: bool = True
    """The agent runs the harness's own Python binaries (bound from the host); container
    backends bring their image's (the kernel watch then cannot tell the evaluator apart)."""

    @abstractmethod
    def unavailable_reason(self) -> str | None:
        """Why this backend cannot run here (None when it can)."""

    @abstractmethod
    def run(self, request: SandboxRequest) -> SandboxResult:
        """Run ``request`` to completion or to its time limit; never leaves a process behind."""
