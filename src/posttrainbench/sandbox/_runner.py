"""Run one argv with output capture and a hard time limit; shared by every local backend."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from posttrainbench.errors import UserError
from posttrainbench.sandbox._output import OutputRecorder
from posttrainbench.sandbox._proctree import ProcessTree
from posttrainbench.sandbox.base import SandboxRequest, SandboxResult

__all__ = ["Launch", "run_tree"]

# How often the tree is re-read from /proc: a descendant that escapes the process group
# and loses its parent within one period can be missed (bwrap's PID namespace cannot).
_POLL_S = 0.2
_REAP_TIMEOUT_S = 5.0
_PIPE_DRAIN_S = 5.0


@dataclass(frozen=True)
class Launch:
    """The host-side process that carries out a request."""

    argv: Sequence[str]
    env: Mapping[str, str]
    """The process's whole environment."""
    cwd: Path
    """Working directory on the host."""
    term_top: bool = True
    """Whether the SIGTERM at the time limit goes to the top process too."""
    pass_fds: tuple[int, ...] = ()
    """Descriptors the process inherits (beyond stdin, stdout and stderr)."""
    pid_namespace: Callable[[], int | None] | None = None
    """The PID namespace the tree lives in, once known: all of it is killed with the tree."""


def run_tree(launch: Launch, request: SandboxRequest) -> SandboxResult:
    """Start ``launch``, record its output, enforce the request's limit, kill what is left.

    Whatever way the run ends (exit, time limit, an exception in the harness), every
    process of the tree is killed and gone before this returns.
    """
    started = time.monotonic()
    with (
        OutputRecorder(request.output_path, request.secrets) as recorder,
        _stdin(request.stdin_path) as stdin,
    ):
        try:
            process = subprocess.Popen(
                list(launch.argv),
                env=dict(launch.env),
                cwd=launch.cwd,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=launch.pass_fds,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as error:
            raise UserError(f"Cannot start {launch.argv[0]!r}: {error}") from error
        assert process.stdout is not None and process.stderr is not None
        recorder.pump(process.stdout, "stdout")
        recorder.pump(process.stderr, "stderr")
        timed_out = _supervise(process, launch, request)
        recorder.join(_PIPE_DRAIN_S)
    code = process.returncode
    return SandboxResult(
        exit_code=code if code >= 0 else None,
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
    )


def _supervise(process: subprocess.Popen[bytes], launch: Launch, request: SandboxRequest) -> bool:
    """Wait for the top process or the limit; True when the limit ended the run."""
    tree = ProcessTree(process.pid)
    try:
        if _wait(process, tree, request.time_limit_s):
            return False
        _find_namespace(tree, launch)
        tree.signal(signal.SIGTERM, include_top=launch.term_top)
        _wait(process, tree, request.kill_grace_s)
        return True
    finally:
        # Also after a normal exit: an agent must not leave a daemon behind.
        _find_namespace(tree, launch)
        tree.kill()
        process.wait()
        tree.wait_gone(_REAP_TIMEOUT_S)


def _wait(process: subprocess.Popen[bytes], tree: ProcessTree, seconds: float) -> bool:
    """Wait up to ``seconds`` for the top process to exit, recording the tree meanwhile."""
    deadline = time.monotonic() + seconds
    while True:
        tree.refresh()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return process.poll() is not None
        try:
            process.wait(timeout=min(_POLL_S, remaining))
            return True
        except subprocess.TimeoutExpired:
            continue


def _find_namespace(tree: ProcessTree, launch: Launch) -> None:
    if tree.pid_namespace is None and launch.pid_namespace is not None:
        tree.pid_namespace = launch.pid_namespace()


@contextmanager
def _stdin(path: Path | None) -> Iterator[IO[bytes] | int]:
    if path is None:
        yield subprocess.DEVNULL
        return
    with path.open("rb") as file:
        yield file
