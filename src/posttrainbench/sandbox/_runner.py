"""Run one argv with output capture and a hard time limit; shared by every local backend."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from posttrainbench._deathsig import die_with_parent
from posttrainbench._termination import raise_if_requested
from posttrainbench.errors import UserError
from posttrainbench.sandbox._cgroups import CgroupSet
from posttrainbench.sandbox._guard import LimitGuard, Watchdog
from posttrainbench.sandbox._output import OutputRecorder
from posttrainbench.sandbox._proctree import ProcessTree
from posttrainbench.sandbox.base import SandboxRequest, SandboxResult

__all__ = ["Launch", "run_tree"]

# How often the tree is re-read from /proc: a descendant that escapes the process group
# and loses its parent within one period can be missed (bwrap's PID namespace cannot).
_POLL_S = 0.2
_REAP_TIMEOUT_S = 5.0
_PIPE_DRAIN_S = 5.0
# Joins each cgroup named before "--" (writing 0 moves the writer), then runs the rest:
# the agent's first instruction already runs inside its limits.
_JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo 0 > "$1" || exit 125; shift; done; shift; exec "$@"'


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
    cgroups = CgroupSet.create(request.limits) if request.limits else None
    guard = LimitGuard(request.limits, cgroups)
    with (
        OutputRecorder(request.output_path, request.secrets) as recorder,
        _stdin(request.stdin_path) as stdin,
    ):
        try:
            process = subprocess.Popen(
                _limited_argv(launch.argv, request, cgroups),
                env=dict(launch.env),
                cwd=launch.cwd,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=launch.pass_fds,
                preexec_fn=die_with_parent,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as error:
            if cgroups is not None:
                cgroups.remove()
            raise UserError(f"Cannot start {launch.argv[0]!r}: {error}") from error
        watchdog = Watchdog(process.pid, cgroups)
        assert process.stdout is not None and process.stderr is not None
        recorder.pump(process.stdout, "stdout")
        recorder.pump(process.stderr, "stderr")
        try:
            timed_out, breach = _supervise(process, launch, request, guard)
            breach = breach or guard.final()
        finally:
            _kill_cgroups(cgroups)
            watchdog.release()
        recorder.join(_PIPE_DRAIN_S)
    code = process.returncode
    return SandboxResult(
        exit_code=code if code >= 0 and breach is None else None,
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
        limit_exceeded=breach,
        peaks=dict(guard.peaks),
    )


def _limited_argv(
    argv: Sequence[str], request: SandboxRequest, cgroups: CgroupSet | None
) -> list[str]:
    """``argv`` inside the run's cgroups, with a per-file size cap (and rlimits without them)."""
    limits = request.limits
    if limits is None:
        return list(argv)
    prlimit = shutil.which("prlimit") or shutil.which("prlimit", path="/usr/bin")
    prefix: list[str] = []
    if prlimit is not None:
        prefix = [prlimit, f"--fsize={limits.disk_bytes}"]
        if cgroups is None:
            # Last resort: per-process address space and per-uid process counts.
            prefix += [f"--as={limits.memory_bytes}", f"--nproc={limits.processes}"]
        prefix.append("--")
    if cgroups is None:
        return [*prefix, *argv]
    joins = [str(path) for path in cgroups.procs_files]
    return ["/bin/sh", "-c", _JOIN_CGROUPS, "sh", *joins, "--", *prefix, *argv]


def _kill_cgroups(cgroups: CgroupSet | None) -> None:
    """SIGKILL every member of the cgroups until none is left, then remove them."""
    if cgroups is None:
        return
    for _ in range(100):
        members = cgroups.members()
        if not members:
            break
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)
    cgroups.remove()


def _supervise(
    process: subprocess.Popen[bytes], launch: Launch, request: SandboxRequest, guard: LimitGuard
) -> tuple[bool, str | None]:
    """Wait for the top process, the time limit or a breached limit.

    Returns whether the time limit ended the run, and the breached limit if one did.
    """
    tree = ProcessTree(process.pid)
    try:
        ended, breach = _wait(process, tree, request.time_limit_s, guard)
        if ended or breach is not None:
            return False, breach
        _find_namespace(tree, launch)
        tree.signal(signal.SIGTERM, include_top=launch.term_top)
        _wait(process, tree, request.kill_grace_s, None)
        return True, None
    finally:
        # Also after a normal exit: an agent must not leave a daemon behind.
        _find_namespace(tree, launch)
        tree.kill()
        process.wait()
        tree.wait_gone(_REAP_TIMEOUT_S)


def _wait(
    process: subprocess.Popen[bytes], tree: ProcessTree, seconds: float, guard: LimitGuard | None
) -> tuple[bool, str | None]:
    """Wait up to ``seconds`` for the top process to exit, recording the tree meanwhile.

    Returns whether the top process ended, and the limit breached first, if any.
    """
    deadline = time.monotonic() + seconds
    while True:
        raise_if_requested()  # a SIGTERM whose exception Python dropped: the tree is killed
        tree.refresh()
        breach = guard.check(tree) if guard is not None else None
        if breach is not None:
            return False, breach
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return process.poll() is not None, None
        try:
            process.wait(timeout=min(_POLL_S, remaining))
            return True, None
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
