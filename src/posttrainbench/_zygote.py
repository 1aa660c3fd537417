"""Fresh processes forked from a warm interpreter: a *zygote*.

A new interpreter spends 10-15 s of CPU importing torch, transformers and inspect-ai on a
2-core host; a trial's worker, its audit and its evaluation need them all. A zygote is a
process that imported them once and then does nothing but fork: each child becomes the
process it was asked for (working directory, environment, output file, process group),
calls ``module:function(argv)`` and exits with its return value. A child shares no state
with whoever asked for it (the zygote never ran their code) nor with earlier children.

Two ways to get one: ``Zygote(modules)`` starts a fresh interpreter that imports
``modules``; :meth:`Zygote.fork_here` forks the calling process, which must have nothing
of its own yet (one thread, no trial state: a worker at its very start, itself a fresh
fork of a warm zygote).

A child's ``lifetime`` says how it relates to the zygote and the terminal:

- ``attempt``: leads its own process group (killed as a whole on timeout), dies with the
  zygote. Evaluation attempts, crash-test workers.
- ``attached``: stays in the zygote's process group (a Ctrl-C at the terminal reaches it,
  as it reaches whoever started the zygote), dies with the zygote. Watched trial workers.
- ``detached``: a session of its own that outlives the zygote. Unwatched trial workers.

Protocol, one JSON object per line: requests ``_Request``; the zygote answers ``{"pid": N}``
for each request in order, and ``{"ended": N, "status": CODE}`` when child N ended
(``-N``: killed by signal N). The zygote ends when its input closes, and dies with its
parent (``PR_SET_PDEATHSIG``).

Variables that libraries read when they are imported (``HF_*``, ``TRANSFORMERS_*``...)
are the zygote's identity: a child whose environment differs in them needs another
zygote (:meth:`Zygote.usable`). Every other variable is passed with each request.
"""

from __future__ import annotations

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
from typing import Literal

from pydantic import BaseModel

from posttrainbench._deathsig import die_with_parent
from posttrainbench._process_exit import exit_now
from posttrainbench._procfs import process_start
from posttrainbench._warm import import_all

__all__ = ["Forked", "Lifetime", "Zygote", "import_time_identity", "usable_zygote"]

Lifetime = Literal["attempt", "attached", "detached"]

_IMPORT_TIME_PREFIXES = ("HF_", "HUGGINGFACE_", "TRANSFORMERS_", "INSPECT_", "PYTHON", "XDG_")
"""Variable prefixes read when libraries are imported (huggingface_hub's and transformers'
cache and offline constants, inspect's settings, the interpreter's own): a change means a
new zygote. Variables read when used (``CUDA_VISIBLE_DEVICES``, ``OMP_NUM_THREADS``,
``PTB_*``) reach each child with its environment; so do those that libraries set in the
parent while it runs (torch's ``TORCHINDUCTOR_CACHE_DIR``), which must not retire it."""
_IMPORT_TIME_NAMES = ("HOME", "TMPDIR")
_USE_TIME_NAMES = ("INSPECT_DISPLAY",)
"""Exceptions to the prefixes: read when used, and set by the harness in its own process
(the evaluation's ``setdefault``), which must not retire its zygote."""
_ZYGOTE_MAIN = (
    "import sys; from posttrainbench._zygote import _serve_stdio; _serve_stdio(sys.argv[1:])"
)
_START_TIMEOUT_S = 600.0
"""How long a zygote may take to fork a child (its imports included)."""
_READ_SLICE_S = 0.5
"""Longest a waiting thread holds the zygote's pipe before letting another read it."""


def import_time_identity(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The variables of ``environ`` that libraries read when imported, sorted."""
    return tuple(
        sorted(
            (name, value)
            for name, value in environ.items()
            if (name.startswith(_IMPORT_TIME_PREFIXES) or name in _IMPORT_TIME_NAMES)
            and name not in _USE_TIME_NAMES
        )
    )


class _Request(BaseModel):
    """One child to fork: what to call, with what, where its output goes, how it lives."""

    entry: str
    """``module:function``; the function takes the argv list and returns the exit status."""
    argv: list[str]
    log: str
    """File the child's stdout and stderr are appended to."""
    env: dict[str, str]
    """Its whole environment."""
    cwd: str
    lifetime: Lifetime = "attempt"


class _Answer(BaseModel):
    """A child's pid once it runs, or the exit status of child ``ended``."""

    pid: int | None = None
    ended: int | None = None
    status: int | None = None
    """Exit status; ``-N`` when killed by signal N."""


class _ZygoteDied(Exception):
    """The zygote's output ended: it is gone."""


class Zygote:
    """One zygote process and the children it forked for this process."""

    def __init__(
        self, warm_modules: Sequence[str], environ: Mapping[str, str] | None = None
    ) -> None:
        """Start a fresh interpreter that imports ``warm_modules``, then serves.

        It runs with ``environ`` (default: this process's environment), whose import-time
        variables are its identity.
        """
        environ = dict(os.environ if environ is None else environ)
        self.identity = import_time_identity(environ)
        """The import-time environment it was started with."""
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        with os.fdopen(os.open(os.devnull, os.O_WRONLY), "wb") as nothing:
            process = subprocess.Popen(
                [sys.executable, "-c", _ZYGOTE_MAIN, *warm_modules],
                stdin=requests_read,
                stdout=answers_write,
                stderr=nothing,
                env=environ,
            )
        os.close(requests_read)
        os.close(answers_write)
        process.returncode = 0  # reaped by this object (alive, close), not by Popen
        self._setup(process.pid, requests_write, answers_read)

    @classmethod
    def fork_here(cls) -> Zygote:
        """Fork this process into a zygote: whatever it imported, its children have.

        Only for a process with nothing of its own yet: one thread (a fork copies only
        the calling one), no open trial state. Raises ``RuntimeError`` otherwise.
        """
        if threading.active_count() != 1:
            raise RuntimeError("a zygote is forked only from a single-threaded process")
        zygote = cls.__new__(cls)
        zygote.identity = import_time_identity(os.environ)
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(requests_write)
                os.close(answers_read)
                die_with_parent()
                _serve(requests_read, answers_write)
                code = 0
            finally:
                os._exit(code)
        os.close(requests_read)
        os.close(answers_write)
        zygote._setup(pid, requests_write, answers_read)
        return zygote

    def _setup(self, pid: int, requests: int, answers: int) -> None:
        self.pid = pid
        """The zygote's process id."""
        self._requests = requests
        self._answers = answers
        self._pending = b""
        self._started: list[int] = []
        """Pids answered and not yet handed out (in request order)."""
        self.ended: dict[int, int] = {}
        """Exit status of each child seen ending."""
        self._children: set[int] = set()
        self._status: int | None = None
        """The zygote's own exit status once reaped."""
        self._io = threading.RLock()
        """Held while talking to the zygote: threads of one process may share it."""

    # -- the zygote's own life ---------------------------------------------------------------

    def alive(self) -> bool:
        """Whether the zygote process still runs."""
        if self._status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self._status = -signal.SIGKILL
            else:
                if pid:
                    self._status = os.waitstatus_to_exitcode(status)
        return self._status is None

    def usable(self, environ: Mapping[str, str] | None = None) -> bool:
        """Alive, and started with the import-time variables of ``environ`` (default: now)."""
        current = os.environ if environ is None else environ
        return self.alive() and self.identity == import_time_identity(current)

    def close(self) -> None:
        """End the zygote (its ``attempt`` and ``attached`` children die with it)."""
        with self._io:
            self._close()

    def _close(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
            self._status = os.waitstatus_to_exitcode(status)
        for descriptor in (self._requests, self._answers):
            try:
                os.close(descriptor)
            except OSError:
                pass
        self._requests = self._answers = -1

    # -- children ------------------------------------------------------------------------------

    def start(
        self,
        entry: str,
        argv: list[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        lifetime: Lifetime = "attempt",
    ) -> Forked:
        """Fork a child that calls ``entry`` (``module:function``) with ``argv``.

        Its output is appended to ``log_path``, its working directory is this process's
        now, its environment ``env`` (default: this process's now). Waits until it runs
        (the zygote may still be importing).

        Raises:
            RuntimeError: The zygote did not fork it within ``_START_TIMEOUT_S``, or died.
        """
        request = _Request(
            entry=entry,
            argv=argv,
            log=str(log_path),
            env=dict(os.environ if env is None else env),
            cwd=str(Path.cwd()),
            lifetime=lifetime,
        )
        with self._io:
            try:
                _write_all(self._requests, request.model_dump_json().encode() + b"\n")
                deadline = time.monotonic() + _START_TIMEOUT_S
                while not self._started:
                    if not self._read(deadline):
                        raise RuntimeError("the zygote did not start a process in time")
            except (OSError, _ZygoteDied) as error:
                raise RuntimeError(f"the zygote is gone: {error}") from error
            pid = self._started.pop(0)
            self._children.add(pid)
        return Forked(pid, self)

    def run(
        self,
        entry: str,
        argv: list[str],
        log_path: Path,
        timeout_s: float,
        env: Mapping[str, str] | None = None,
    ) -> int | None:
        """Run ``entry`` as an ``attempt`` child and wait for it (see :meth:`start`).

        Returns its exit status (the function's return value; negative: killed by that
        signal), or None when it ran past ``timeout_s`` and was killed with everything it
        started. A harness interrupted meanwhile takes the attempt down with it.
        """
        child = self.start(entry, argv, log_path, env=env)
        try:
            status = child.wait(timeout_s)
        except BaseException:
            child.kill_group()
            self.close()
            raise
        if status is None:
            child.kill_group()
            child.wait(None)
        return status

    def _status_of(self, pid: int, deadline: float | None) -> int | None:
        """Child ``pid``'s exit status, reading answers until ``deadline`` (None: forever)."""
        while pid not in self.ended:
            # In slices, so that another thread waiting on another child gets its turn;
            # at least one read, so that a poll (deadline now) sees what already came.
            now = time.monotonic()
            until = now + _READ_SLICE_S if deadline is None else min(deadline, now + _READ_SLICE_S)
            with self._io:
                try:
                    self._read(until)
                except _ZygoteDied:
                    return self._status_without_zygote(pid, deadline)
            if pid not in self.ended and deadline is not None and time.monotonic() >= deadline:
                return None
        return self.ended[pid]

    def _status_without_zygote(self, pid: int, deadline: float | None) -> int | None:
        """Child ``pid``'s status after the zygote was killed from outside (the OOM killer).

        Its attempts and attached children died with it; a detached one may live on, and
        is waited for as any process.
        """
        for orphan in self._children - set(self.ended):
            if not _running(orphan):
                self.ended[orphan] = -signal.SIGKILL
        while pid not in self.ended and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.2)
            if not _running(pid):
                self.ended[pid] = -signal.SIGKILL
        return self.ended.get(pid)

    def _read(self, deadline: float | None) -> bool:
        """Read and file the zygote's answers; False when ``deadline`` passed first."""
        if self._answers < 0:
            raise _ZygoteDied
        while b"\n" not in self._pending:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._answers], [], [], wait)
            if not ready:
                return False
            chunk = os.read(self._answers, 65536)
            if not chunk:
                os.close(self._answers)
                self._answers = -1
                raise _ZygoteDied
            self._pending += chunk
        while b"\n" in self._pending:
            line, _, self._pending = self._pending.partition(b"\n")
            answer = _Answer.model_validate_json(line)
            if answer.ended is not None:
                assert answer.status is not None
                self.ended[answer.ended] = answer.status
            elif answer.pid is not None:
                self._started.append(answer.pid)
        return True


class Forked:
    """A child forked by a :class:`Zygote`, handled like a ``subprocess.Popen``."""

    def __init__(self, pid: int, zygote: Zygote) -> None:
        self.pid = pid
        self._zygote = zygote

    def poll(self) -> int | None:
        """Its exit status, or None while it runs."""
        return self._zygote._status_of(self.pid, time.monotonic())

    def wait(self, timeout: float | None = None) -> int | None:
        """Its exit status; None when ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._zygote._status_of(self.pid, deadline)

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the child, unless it has ended."""
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                return

    def kill(self) -> None:
        """SIGKILL the child."""
        self.send_signal(signal.SIGKILL)

    def kill_group(self) -> None:
        """SIGKILL the child's process group (an ``attempt`` and all it started)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:  # not yet its own group, or already gone
            self.kill()


def usable_zygote(
    current: Zygote | None, warm_modules: Sequence[str], environ: Mapping[str, str] | None = None
) -> Zygote:
    """``current`` if usable for ``environ`` (default: now), else a new zygote (old closed)."""
    if current is not None and current.usable(environ):
        return current
    if current is not None:
        current.close()
    return Zygote(warm_modules, environ)


def _write_all(descriptor: int, data: bytes) -> None:
    """Write all of ``data`` (a request with a large environment can exceed a pipe's buffer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _running(pid: int) -> bool:
    return process_start(pid) is not None


# -- inside the zygote -------------------------------------------------------------------------


def _serve_stdio(warm_modules: list[str]) -> None:
    """A spawned zygote's main: import ``warm_modules``, then serve on stdin and stdout."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the parent's to handle
    import_all(warm_modules)
    _serve(0, 1)


def _serve(requests: int, answers: int) -> None:
    """Fork one child per request until ``requests`` closes; report each child's end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
    children: set[int] = set()
    pending = b""
    while True:
        ready, _, _ = select.select([requests, wake_read], [], [])
        if wake_read in ready:
            os.read(wake_read, 4096)
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                code = os.waitstatus_to_exitcode(status)
                _answer(answers, _Answer(ended=pid, status=code))
        if requests not in ready:
            continue
        chunk = os.read(requests, 65536)
        if not chunk:
            return  # input closed: attempts and attached children die with this process
        pending += chunk
        while b"\n" in pending:
            line, _, pending = pending.partition(b"\n")
            request = _Request.model_validate_json(line)
            pid = os.fork()
            if pid == 0:
                _become(request, (requests, answers, wake_read, wake_write))  # never returns
            children.add(pid)
            _answer(answers, _Answer(pid=pid))


def _answer(answers: int, answer: _Answer) -> None:
    _write_all(answers, answer.model_dump_json(exclude_none=True).encode() + b"\n")


def _become(request: _Request, zygote_fds: tuple[int, ...]) -> None:
    """In the forked child: become the requested process, call its entry, exit with it."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for descriptor in zygote_fds:
            if descriptor > 2:  # a spawned zygote's 0 and 1 are replaced below
                os.close(descriptor)
        if request.lifetime == "detached":
            os.setsid()
        else:
            if request.lifetime == "attempt":
                os.setpgid(0, 0)
            die_with_parent()
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
    exit_now(code)
