"""Evaluation attempts as fresh processes forked from a warm zygote.

Each evaluation attempt runs in a process of its own: pristine interpreter state, its own
log, its process group killed on timeout, gone when the harness dies. A new interpreter
spends about 10 s importing torch, transformers and inspect-ai on a 2-core CPU, longer than
the evaluation of a toy model itself; so each harness process keeps one *zygote*: a child
interpreter running :func:`_serve`, that imports
``posttrainbench.evaluation._warm`` once, never evaluates anything, and forks one child per
attempt. An attempt thus shares no state with the harness (the zygote never was the
harness) nor with earlier attempts (each is a fresh fork of the idle zygote).

Protocol, one JSON object per line: the harness writes ``{"argv", "log", "env", "cwd"}``;
the zygote forks, answers ``{"pid": N}`` once the child runs, then ``{"status": CODE}`` when
it ended (``-N``: killed by signal N). The zygote ends when its input closes, and dies with
the harness (``PR_SET_PDEATHSIG``), as each attempt dies with the zygote.

Variables that libraries read when they are imported (``HF_*``, ``TRANSFORMERS_*``...)
are the zygote's identity: when the harness's values change, a new zygote
starts. Every other variable is passed with each attempt.
"""

from __future__ import annotations

import atexit
import importlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from posttrainbench._deathsig import die_with_parent
from posttrainbench._warm import import_all

__all__ = ["Zygote", "run_evaluation_process", "start_zygote", "usable_zygote"]

_IMPORT_TIME_PREFIXES = ("HF_", "HUGGINGFACE_", "TRANSFORMERS_", "INSPECT_", "PYTHON", "XDG_")
"""Variable prefixes read when libraries are imported (huggingface_hub's and transformers'
cache and offline constants, inspect's settings, the interpreter's own): a change means a
new zygote. Variables read when used (``CUDA_VISIBLE_DEVICES``, ``OMP_NUM_THREADS``,
``PTB_*``) reach each attempt with its environment; so do those that libraries set in the
harness while it runs (torch's ``TORCHINDUCTOR_CACHE_DIR``), which must not retire it."""
_IMPORT_TIME_NAMES = ("HOME", "TMPDIR")
_ZYGOTE_MAIN = (
    "import sys; from posttrainbench.trial.eval_process import _serve; _serve(sys.argv[1:])"
)
_ZYGOTE_START_TIMEOUT_S = 600.0
"""How long the zygote may take to fork an attempt (its imports included)."""


def _identity() -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(
            (name, value)
            for name, value in os.environ.items()
            if name.startswith(_IMPORT_TIME_PREFIXES) or name in _IMPORT_TIME_NAMES
        )
    )


class _Request(BaseModel):
    """One attempt to fork: what to call, with what, where its output goes."""

    entry: str
    """``module:function``; the function takes the argv list and returns the exit status."""
    argv: list[str]
    log: str
    """File the attempt's stdout and stderr are appended to."""
    env: dict[str, str]
    """Its whole environment."""
    cwd: str


class _Answer(BaseModel):
    """The zygote's answer: the attempt's pid once it runs, then its exit status."""

    pid: int | None = None
    status: int | None = None
    """Exit status; ``-N`` when killed by signal N."""


class _ZygoteDied(Exception):
    """The zygote's output ended: it is gone."""


class Zygote:
    """One zygote process: imports ``warm_modules`` once, then forks an attempt per run."""

    def __init__(self, warm_modules: Sequence[str]) -> None:
        self.identity = _identity()
        """The import-time environment it was started with."""
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE_MAIN, *warm_modules],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ),
        )
        self._pending = b""

    def usable(self) -> bool:
        """Alive, and started with the environment's current import-time variables."""
        return self.process.poll() is None and self.identity == _identity()

    def close(self) -> None:
        """End the zygote (an attempt still running dies with it)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def run(
        self,
        entry: str,
        argv: list[str],
        log_path: Path,
        timeout_s: float,
        env: Mapping[str, str] | None = None,
    ) -> int | None:
        """Call ``entry`` (``module:function``, given ``argv``) in a forked attempt.

        The attempt's output is appended to ``log_path``, its working directory is this
        process's now, its environment ``env`` (default: this process's now). Returns its
        exit status (the function's return value; negative: killed by that signal), or
        None when it ran past ``timeout_s`` and was killed with everything it started.
        """
        request = _Request(
            entry=entry,
            argv=argv,
            log=str(log_path),
            env=dict(os.environ if env is None else env),
            cwd=str(Path.cwd()),
        )
        assert self.process.stdin is not None
        self.process.stdin.write(request.model_dump_json().encode() + b"\n")
        self.process.stdin.flush()
        started = self._answer(time.monotonic() + _ZYGOTE_START_TIMEOUT_S)
        if started is None:
            raise RuntimeError("the evaluation zygote did not start an attempt in time")
        assert started.pid is not None
        pid = started.pid
        try:
            ended = self._answer(time.monotonic() + timeout_s)
        except _ZygoteDied:  # killed from outside (the OOM killer): the attempt died with it
            _kill_group(pid)
            return -signal.SIGKILL
        except BaseException:  # the harness is stopping: take the attempt down with it
            _kill_group(pid)
            self.close()
            raise
        if ended is None:
            _kill_group(pid)
            self._answer(None)
            return None
        assert ended.status is not None
        return ended.status

    def _answer(self, deadline: float | None) -> _Answer | None:
        """The zygote's next answer; None when ``deadline`` passed first."""
        assert self.process.stdout is not None
        descriptor = self.process.stdout.fileno()
        while b"\n" not in self._pending:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([descriptor], [], [], wait)
            if not ready:
                return None
            chunk = os.read(descriptor, 4096)
            if not chunk:
                raise _ZygoteDied
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return _Answer.model_validate_json(line)


_EVALUATION_ENTRY = "posttrainbench.evaluation.final:main"
_lock = threading.Lock()
"""One evaluation at a time per harness process (a zygote serves one attempt at a time)."""
_shared: Zygote | None = None


def usable_zygote(current: Zygote | None, warm_modules: Sequence[str]) -> Zygote:
    """``current`` if it is still usable, else a new zygote (the old one closed)."""
    if current is not None and current.usable():
        return current
    if current is not None:
        current.close()
    return Zygote(warm_modules)


def _evaluation_zygote() -> Zygote:
    """The evaluation zygote for the current environment, started if needed (hold ``_lock``)."""
    global _shared
    from posttrainbench.evaluation._warm import WARM_MODULES

    _shared = usable_zygote(_shared, WARM_MODULES)
    return _shared


def start_zygote() -> None:
    """Start the evaluation zygote now, so that its imports overlap with other work."""
    if _lock.acquire(blocking=False):
        try:
            _evaluation_zygote()
        finally:
            _lock.release()


def run_evaluation_process(argv: list[str], log_path: Path, timeout_s: float) -> int | None:
    """``python -m posttrainbench.evaluation.final *argv`` as an attempt of the shared zygote.

    See :meth:`Zygote.run` for the output, the return value and the timeout.
    """
    with _lock:  # a zygote that died or was closed is replaced by the next call
        return _evaluation_zygote().run(_EVALUATION_ENTRY, argv, log_path, timeout_s)


def _kill_group(pid: int) -> None:
    """Kill the attempt and everything it started (it leads its own process group)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:  # not yet its own group, or already gone
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return


@atexit.register
def _close_zygote_at_exit() -> None:
    if _shared is not None:
        _shared.close()


# -- inside the zygote -----------------------------------------------------------------------


def _run_attempt(request: _Request) -> None:
    """In the forked child: become a fresh evaluation process, run it, exit with its code."""
    code = 1
    try:
        os.setpgid(0, 0)
        die_with_parent()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request.cwd)
        os.environ.clear()
        os.environ.update(request.env)
        output = os.open(request.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.close(nothing)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdin
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        module, _, function = request.entry.partition(":")
        sys.argv = [module, *request.argv]
        code = getattr(importlib.import_module(module), function)(request.argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(code)


def _serve(warm_modules: list[str]) -> None:
    """The zygote's loop: import once, then fork one attempt per request until stdin closes."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the harness's to handle
    import_all(warm_modules)
    requests = os.fdopen(0, "rb")
    answers = os.fdopen(1, "wb", buffering=0)
    for line in requests:
        request = _Request.model_validate_json(line)
        pid = os.fork()
        if pid == 0:  # the attempt's dup2 replaces fds 0 and 1 (closing them first would
            _run_attempt(request)  # hand their numbers to the files it opens); never returns
        answers.write(_Answer(pid=pid).model_dump_json().encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        answers.write(_Answer(status=code).model_dump_json().encode() + b"\n")
