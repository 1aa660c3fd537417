"""Every open of the trial's test data, by any program, seen by the kernel (fanotify).

The Python audit hook (``access_log``) sees only the Python processes that load it: a
``cat``, a ``cp``, a compiled reader or a Python started with ``-I`` or its own
``PYTHONPATH`` escapes it. A kernel watch escapes nothing: during solve the harness puts a
``FAN_OPEN_PERM`` mark on each file of the trial's private copy of the test data
(``agent_data``), so each open waits until the harness has read the opener's command line
and ancestry from ``/proc``, then goes ahead (an open is recorded, never refused). Reading
while the opener waits is what makes a process that exits at once still attributable.

The files are the trial's own copies, so the marks see this trial's processes and nobody
else's. The harness's ``task/evaluate.py`` (the file itself, compared by inode: a copy or a
wrapper is not it) and its children are the legitimate reader and are not recorded, as
long as it runs as the harness gave it: a run whose import-time environment differs from
the agent's original one (``PYTHONPATH``, ``LD_PRELOAD``, ...), or beside an importable
file the agent added to its folder, or with a user site that runs code at start-up, may
execute the agent's code inside the evaluator, so its reads are recorded, with why.

fanotify needs ``CAP_SYS_ADMIN`` (a root harness, as bwrap runs here); without it
:func:`unavailable_reason` says why, and only the Python hook records.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import struct
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from posttrainbench.trial._drain_thread import DrainThread

__all__ = ["KernelOpen", "OpenWatch", "unavailable_reason"]

_FAN_CLOEXEC = 0x1
_FAN_NONBLOCK = 0x2
_FAN_CLASS_CONTENT = 0x4
_FAN_MARK_ADD = 0x1
_FAN_OPEN_PERM = 0x10000
_FAN_ALLOW = 0x1
_FAN_NOFD = -1
_AT_FDCWD = -100
_EVENT = struct.Struct("IBBHQii")  # struct fanotify_event_metadata
_RESPONSE = struct.Struct("iI")  # struct fanotify_response
_ANCESTRY = 64
"""How many parents to walk looking for the evaluator (the Python hook walks as many)."""


IMPORT_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONNOUSERSITE",
    "PYTHONPLATLIBDIR",
    "PYTHONEXECUTABLE",
    "PYTHONSAFEPATH",
    "PYTHONINSPECT",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
)
"""Variables that decide what code a Python runs before and besides its script."""
_IMPORTABLE_SUFFIXES = (".py", ".pyc", ".so", ".pth")


@dataclass(frozen=True)
class KernelOpen:
    """One open of a watched file by a process that is not the evaluator."""

    pid: int
    ppid: int
    cmdline: str
    """The opener's command line (empty when it was gone before it could be read)."""
    path: str
    """The watched file it opened (host path)."""
    note: str = ""
    """Why an evaluator run is not exempt (its environment or folder was changed)."""


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
    libc.fanotify_mark.argtypes = [
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint64,
        ctypes.c_int,
        ctypes.c_char_p,
    ]
    return libc


def _init() -> int:
    """A fanotify descriptor for permission events, or raise OSError with the reason."""
    libc = _libc()
    flags = _FAN_CLASS_CONTENT | _FAN_CLOEXEC | _FAN_NONBLOCK
    fd = libc.fanotify_init(flags, os.O_RDONLY | os.O_LARGEFILE | os.O_CLOEXEC)
    if fd < 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return int(fd)


def _mark(fd: int, path: Path) -> None:
    if _libc().fanotify_mark(fd, _FAN_MARK_ADD, _FAN_OPEN_PERM, _AT_FDCWD, os.fsencode(path)):
        number = ctypes.get_errno()
        raise OSError(number, f"{os.strerror(number)}: {path}")


def unavailable_reason() -> str | None:
    """Why the kernel watch cannot run here (None when it can)."""
    try:
        fd = _init()
    except AttributeError:
        return "this C library has no fanotify"
    except OSError as error:
        if error.errno == errno.EPERM:
            return "fanotify needs CAP_SYS_ADMIN (run the harness as root)"
        return f"fanotify is unavailable ({error.strerror})"
    os.close(fd)
    return None


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:  # noqa: PTH123 - /proc files, read raw
            return handle.read()
    except OSError:
        return b""


def _cmdline(pid: int) -> list[str]:
    raw = _read(f"/proc/{pid}/cmdline")
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _parent(pid: int) -> int:
    try:
        return int(_read(f"/proc/{pid}/stat").rsplit(b")", 1)[1].split()[1])
    except (ValueError, IndexError):
        return 0


def _script(pid: int, args: list[str]) -> os.stat_result | None:
    """The file a Python command line runs as its script (None for ``-c``, ``-m``...).

    It is the first argument that is not an option (the values of ``-X``/``-W`` skipped),
    resolved in the process's own root and working directory, so inside the sandbox.
    """
    rest = iter(args[1:])
    for arg in rest:
        if arg in ("-c", "-m", "-"):
            return None
        if arg in ("-X", "-W"):
            next(rest, None)
            continue
        if arg.startswith("-"):
            continue
        base = f"/proc/{pid}/root" if arg.startswith("/") else f"/proc/{pid}/cwd/"
        try:
            return Path(base + arg).stat()
        except OSError:
            return None
    return None


def _environ(pid: int) -> dict[str, str]:
    raw = _read(f"/proc/{pid}/environ")
    pairs = (part.decode("utf-8", "replace").partition("=") for part in raw.split(b"\0") if part)
    return {name: value for name, _, value in pairs}


def _user_site_hooks(environ: Mapping[str, str]) -> list[str]:
    """Files under the user site of ``environ``'s HOME that run code when Python starts."""
    home = environ.get("PYTHONUSERBASE") or f"{environ.get('HOME', '/nonexistent')}/.local"
    found: list[str] = []
    for site in Path(home).glob("lib/python3*/site-packages"):
        found += sorted(str(p) for p in site.glob("*.pth"))
        found += [str(p) for p in site.glob("usercustomize.py")]
    return found


def _interpreters() -> set[tuple[int, int]]:
    """The Python binaries that may run the evaluator (a venv's python links to one)."""
    found = set()
    for candidate in {sys.executable, getattr(sys, "_base_executable", ""), "/usr/bin/python3"}:
        if not candidate:
            continue
        try:
            info = Path(candidate).stat()
        except OSError:
            continue
        found.add((info.st_dev, info.st_ino))
    return found


class OpenWatch:
    """A fanotify watch on ``files`` while the block runs, reporting each open to ``report``.

    ``exempt`` is the evaluator script: a process of the harness's Python interpreter
    running it as its script (the very file) and that process's descendants are not
    reported; nor is the harness itself. Any other program naming the script (``cat
    task/evaluate.py data``) or a wrapper script given it as an argument is reported.
    """

    def __init__(
        self,
        files: Iterable[Path],
        exempt: Path,
        report: Callable[[KernelOpen], None],
        *,
        agent_env: Mapping[str, str] | None = None,
        given: Iterable[str] = (),
    ) -> None:
        self.files = sorted({Path(path) for path in files})
        self.exempt = exempt
        self.report = report
        self.agent_env = {k: v for k, v in (agent_env or {}).items() if k in IMPORT_VARIABLES}
        """The import-time variables the agent was started with (None: not checked)."""
        self.check_env = agent_env is not None
        self.given = frozenset(given) | {exempt.name}
        """Names in the evaluator's folder that the harness put there."""
        self._fd = -1
        self._reader: DrainThread | None = None
        self._names: dict[tuple[int, int], str] = {}
        self._interpreters = _interpreters()

    def __enter__(self) -> OpenWatch:
        """Mark every file; raise OSError if the kernel refuses (nothing is left marked)."""
        self._fd = _init()
        try:
            for path in self.files:
                _mark(self._fd, path)
                info = path.stat()
                self._names[(info.st_dev, info.st_ino)] = str(path)
        except OSError:
            os.close(self._fd)
            raise
        self._reader = DrainThread(self._fd, self._handle_pending, "ptb-open-watch")
        self._reader.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Stop; closing the descriptor lets any open still waiting go ahead."""
        if self._reader is not None:
            self._reader.stop()
        os.close(self._fd)

    def _handle_pending(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 1 << 14)
            except BlockingIOError:
                return
            offset = 0
            while offset + _EVENT.size <= len(data):
                length, _, _, _, _, event_fd, pid = _EVENT.unpack_from(data, offset)
                offset += length or _EVENT.size
                if event_fd != _FAN_NOFD:
                    self._handle(event_fd, pid)

    def _handle(self, event_fd: int, pid: int) -> None:
        """Describe the opener while it waits, then let its open go ahead.

        Nothing may stop this thread: an open it never answers would wait until solve ends.
        """
        try:
            record = self._describe(event_fd, pid)
        except Exception as error:  # noqa: BLE001 - recorded, and the watch goes on
            record = KernelOpen(pid, 0, "", "?", f"the harness could not describe it: {error}")
        finally:
            os.write(self._fd, _RESPONSE.pack(event_fd, _FAN_ALLOW))
            os.close(event_fd)
        if record is not None:
            try:
                self.report(record)
            except OSError:  # the log cannot be written: keep answering opens regardless
                return

    def _describe(self, event_fd: int, pid: int) -> KernelOpen | None:
        if pid == os.getpid():
            return None  # the harness itself
        info = os.fstat(event_fd)
        path = self._names.get((info.st_dev, info.st_ino), "?")
        try:
            exempt = self.exempt.stat()
        except OSError:
            exempt = None
        ancestor = pid
        note = ""
        for _ in range(_ANCESTRY):
            if ancestor <= 1 or ancestor == os.getpid():
                break
            if exempt is not None and self._runs_evaluator(ancestor, exempt):
                note = self._tampering(ancestor)
                if not note:
                    return None
                break
            ancestor = _parent(ancestor)
        return KernelOpen(pid, _parent(pid), " ".join(_cmdline(pid))[:1000], path, note)

    def _tampering(self, pid: int) -> str:
        """How the evaluator run ``pid`` differs from what the harness gave ('' if not)."""
        environ = _environ(pid)
        if self.check_env:
            changed = [
                name for name in IMPORT_VARIABLES if environ.get(name) != self.agent_env.get(name)
            ]
            if changed:
                return f"evaluate.py ran with changed {', '.join(changed)}"
        try:
            entries = list(self.exempt.parent.iterdir())
        except OSError:
            entries = []
        added = sorted(
            entry.name
            for entry in entries
            if entry.name not in self.given
            and entry.name != "__pycache__"
            and (entry.is_dir() or entry.name.endswith(_IMPORTABLE_SUFFIXES))
        )
        if added:
            return f"evaluate.py ran beside files the agent added: {', '.join(added[:5])}"
        if "PYTHONNOUSERSITE" not in environ and (hooks := _user_site_hooks(environ)):
            return f"evaluate.py ran with start-up code in the user site: {hooks[0]}"
        return ""

    def _runs_evaluator(self, pid: int, evaluator: os.stat_result) -> bool:
        """Whether ``pid`` is the harness's Python running ``evaluator`` as its script."""
        try:
            binary = Path(f"/proc/{pid}/exe").stat()
        except OSError:
            return False
        if (binary.st_dev, binary.st_ino) not in self._interpreters:
            return False
        script = _script(pid, _cmdline(pid))
        return script is not None and os.path.samestat(script, evaluator)
