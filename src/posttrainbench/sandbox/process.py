"""The ``process`` backend: a plain child process, with no isolation (development only)."""

from __future__ import annotations

from typing_extensions import override

from posttrainbench.sandbox._runner import Launch, run_tree
from posttrainbench.sandbox.base import Sandbox, SandboxRequest, SandboxResult

__all__ = ["ProcessSandbox"]


class ProcessSandbox(Sandbox):
    """Runs the argv directly on the host, in its own session.

    The environment is exactly ``request.env`` and the whole tree is killed at the limit,
    but mounts and ``network`` are ignored: the agent sees and can write the host's files
    and can signal any process of the same user. Use it for development and on hosts
    without bubblewrap, never for trials whose results are published; ``auto`` never
    picks it. The tree still dies with the harness: the top process has a parent-death
    signal and a watchdog process kills the rest (its cgroups, where limits are on).
    """

    name = "process"
    isolated = False

    @override
    def unavailable_reason(self) -> str | None:
        return None

    @override
    def run(self, request: SandboxRequest) -> SandboxResult:
        launch = Launch(argv=request.argv, env=request.env, cwd=request.cwd)
        return run_tree(launch, request)
