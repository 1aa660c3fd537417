"""Loaded by every Python the agent starts (``PYTHONPATH``): logs reads of the test split.

An audit hook (PEP 578) reports ``open`` of any path under ``PTB_ACCESS_WATCH`` (the
benchmark's data files) and the harness's own ``posttrainbench.test_split`` event to the
pipe ``PTB_ACCESS_LOG``, which the harness reads (the agent can add lines, never take
one back). A process of this same Python binary running the very ``task/evaluate.py``
(``PTB_ACCESS_EXEMPT``, compared by inode) as its script, and that process's children,
the one legitimate reader, are not reported as readers; only the paths they write are
(``evaluate-write``), so the audit knows which files hold test items by design. A wrapper
given the script as an argument, or another program naming it, is no evaluator. The
harness's kernel watch (``trial.open_watch``) applies the same rule from outside. This
file is plain Python with no imports from the harness (so that rule is written twice),
and costs a few milliseconds per start.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:  # noqa: PTH123 - no pathlib at startup
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:  # noqa: PTH123 - no pathlib at startup
            return int(handle.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _path(value: object) -> str | None:
    if isinstance(value, (str, bytes, os.PathLike)):
        try:
            return os.fsdecode(value)
        except (TypeError, ValueError):
            return None
    return None


def _script_of(pid: int) -> os.stat_result | None:
    """The script a Python command line runs: its first argument that is not an option.

    None for ``-c``/``-m``/``-``; the values of ``-X``/``-W`` are skipped. Resolved in the
    process's own working directory, so a relative path means what it meant to it.
    """
    rest = iter(_cmdline(pid)[1:])
    for arg in rest:
        if arg in ("-c", "-m", "-"):
            return None
        if arg in ("-X", "-W"):
            next(rest, None)
            continue
        if arg.startswith("-"):
            continue
        try:
            return os.stat(arg if arg.startswith("/") else f"/proc/{pid}/cwd/{arg}")  # noqa: PTH116 - no pathlib at startup
        except OSError:
            return None
    return None


def _exempt(script: str) -> bool:
    """Whether this process is, or descends from, this very Python running ``script``.

    A wrapper given the script as an argument, or another program naming it, is not.
    """
    try:
        evaluator = os.stat(script)  # noqa: PTH116 - no pathlib at startup
        python = os.stat("/proc/self/exe")  # noqa: PTH116 - no pathlib at startup
    except OSError:
        return False
    pid = os.getpid()
    for _ in range(64):
        if pid <= 1:
            return False
        try:
            binary = os.stat(f"/proc/{pid}/exe")  # noqa: PTH116 - no pathlib at startup
        except OSError:
            binary = None
        if binary is not None and os.path.samestat(binary, python):
            ran = _script_of(pid)
            if ran is not None and os.path.samestat(ran, evaluator):
                return True
        pid = _parent(pid)
    return False


def _install() -> None:
    log = os.environ.get("PTB_ACCESS_LOG")
    if not log:
        return
    watched = tuple(p for p in os.environ.get("PTB_ACCESS_WATCH", "").split(os.pathsep) if p)
    script = os.path.realpath(os.environ.get("PTB_ACCESS_EXEMPT", "")) or None
    evaluator = bool(script and _exempt(script))
    command = " ".join(_cmdline(os.getpid()))[:1000]
    busy: list[int] = []

    def write(event: str, detail: object) -> None:
        if busy:
            return
        busy.append(1)
        try:
            record = {
                "pid": os.getpid(),
                "ppid": os.getppid(),
                "cmdline": command,
                "event": event,
                "detail": str(detail)[:500],
            }
            fd = os.open(log, os.O_WRONLY | os.O_NONBLOCK)
            try:
                os.write(fd, (json.dumps(record) + "\n").encode()[:4000])
            finally:
                os.close(fd)
        except OSError:
            pass
        finally:
            busy.clear()

    def evaluator_hook(event: str, args: tuple[Any, ...]) -> None:
        # The legitimate reader: what it writes (logs, sample buffers) holds test items
        # by design, so its output paths are recorded for the audit to tell them apart.
        path = _path(args[0]) if args else None
        if path is None:
            return
        if "__pycache__" in path:
            return  # bytecode the interpreter caches, never data the evaluator wrote
        if event == "open":
            mode, flags = (args[1] if len(args) > 1 else "") or "", args[2] if len(args) > 2 else 0
            if any(c in str(mode) for c in "wax+") or (flags or 0) & (os.O_WRONLY | os.O_RDWR):
                write("evaluate-write", os.path.realpath(path))
        elif event == "sqlite3.connect":
            write("evaluate-write", os.path.realpath(path))

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "posttrainbench.test_split":
            write(event, args[0] if args else "")
        elif event == "open" and watched and args and (path := _path(args[0])) is not None:
            if path.startswith(watched) or os.path.realpath(path).startswith(watched):
                write(event, path)

    sys.addaudithook(evaluator_hook if evaluator else hook)


_install()
