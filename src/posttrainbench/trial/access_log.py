"""Reads of the test split during solve, recorded by the harness, not by the agent.

Every Python the agent starts loads ``_access_hook/sitecustomize.py`` (its folder is put
first on ``PYTHONPATH``): an audit hook that reports opens of the benchmark's data files
and the harness's ``posttrainbench.test_split`` audit event (raised when the test split
is generated or loaded) to a FIFO mounted into the sandbox. :class:`AccessRecorder` reads
the FIFO during solve and appends each record to ``agent/test_access.jsonl``, a file the
agent cannot reach. The harness's ``task/evaluate.py`` runs (and their children) are the
one legitimate reader and are not recorded; ``test_access`` flags any other reader.

Where the harness may use fanotify (root), a kernel watch (``open_watch``) records every
open of the data files by any program as well, so a ``cat``, a ``python -I`` or a Python
with its own ``PYTHONPATH`` is recorded too. A harness line at each solve start
(``RECORDER_EVENT``) says which recorders ran, so the audit never claims more coverage
than there was.

Limits, stated: without the kernel watch, a process that disables site initialisation
(``python -S``/``-I``), clears ``PYTHONPATH`` or is not Python is not observed; with it, a
process that the evaluator itself starts is not either. The record is evidence when
present, and the other detectors (contents, journal, memorization) do not depend on it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

from posttrainbench.records.access import (
    KERNEL_AND_HOOK,
    KERNEL_OPEN_EVENT,
    RECORDER_EVENT,
    AccessLine,
)
from posttrainbench.trial import open_watch
from posttrainbench.trial._drain_thread import DrainThread

__all__ = ["HOOK_DIR", "AccessRecorder"]

HOOK_DIR = Path(__file__).parent / "_access_hook"
"""The folder holding ``sitecustomize.py``; only it is put on the agent's PYTHONPATH."""


class AccessRecorder:
    """A FIFO the agent's hook writes to, drained into ``log`` while the block runs."""

    def __init__(
        self,
        fifo: Path,
        log: Path,
        watched: list[Path],
        exempt: Path,
        *,
        kernel_watch: bool = True,
        given: frozenset[str] = frozenset(),
    ) -> None:
        self.fifo = fifo
        self.given = given
        """Names the harness put in the evaluator's folder (others there are the agent's)."""
        self.agent_env: dict[str, str] | None = None
        """The environment the agent starts with, set before entering: an evaluate.py run
        whose import-time variables differ from it is recorded by the kernel watch."""
        self.kernel_watch = kernel_watch
        """False where the sandbox runs Pythons of its own (containers): the kernel watch
        could not tell the evaluator from other readers, so only the hook records."""
        self.log = log
        self.watched = watched
        self.exempt = exempt
        self._reader: DrainThread | None = None
        self._fd = -1
        self._keep = -1
        self._write_lock = threading.Lock()
        self._kernel: open_watch.OpenWatch | None = None

    def env(self, current: str | None = None) -> dict[str, str]:
        """Variables that load the hook in the agent's Pythons (``current``: its PYTHONPATH)."""
        path = os.pathsep.join(p for p in (str(HOOK_DIR), current) if p)
        return {
            "PYTHONPATH": path,
            "PTB_ACCESS_LOG": str(self.fifo),
            "PTB_ACCESS_WATCH": os.pathsep.join(str(p) for p in self.watched),
            "PTB_ACCESS_EXEMPT": str(self.exempt),
        }

    def __enter__(self) -> AccessRecorder:
        """Create the FIFO and start draining it."""
        self.fifo.parent.mkdir(parents=True, exist_ok=True)
        self.fifo.unlink(missing_ok=True)
        os.mkfifo(self.fifo, 0o622)
        self.fifo.chmod(0o622)  # the agent's uid may differ: anyone may append
        self._fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        self._keep = os.open(self.fifo, os.O_WRONLY)  # no EOF while no agent writes
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        self._start_kernel_watch()
        self._reader = DrainThread(self._fd, self._drain, "ptb-access")
        self._reader.start()
        return self

    def _start_kernel_watch(self) -> None:
        files = sorted(self._data_files())
        reason: str | None
        if not self.kernel_watch:
            reason = "the sandbox runs its own Python, so the evaluator is not recognizable"
        elif not files:
            reason = "no data files to watch"
        else:
            reason = open_watch.unavailable_reason()
        if reason is None:
            watch = open_watch.OpenWatch(
                files,
                self.exempt,
                self._record_kernel_open,
                agent_env=self.agent_env,
                given=self.given,
            )
            try:
                self._kernel = watch.__enter__()
            except OSError as error:
                reason = f"fanotify refused a mark ({error})"
        detail = KERNEL_AND_HOOK if reason is None else f"Python hook only: {reason}"
        self._append(AccessLine(event=RECORDER_EVENT, detail=detail))

    def _data_files(self) -> set[Path]:
        """The files the kernel watches: those under the watched folders (the trial's own).

        A watched single file (a masked package file, an older trial's link into the shared
        cache) is left to the hook: its inode is shared with other trials and the harness.
        """
        files: set[Path] = set()
        for path in self.watched:
            if path.is_dir() and not path.is_symlink():
                files.update(child for child in path.rglob("*") if child.is_file())
        return files

    def _record_kernel_open(self, opened: open_watch.KernelOpen) -> None:
        self._append(
            AccessLine(
                event=KERNEL_OPEN_EVENT,
                detail=opened.path,
                cmdline=opened.cmdline,
                pid=opened.pid,
                ppid=opened.ppid,
                note=opened.note or None,
            )
        )

    def _append(self, line: AccessLine) -> None:
        with self._write_lock, self.log.open("ab") as out:
            out.write(line.model_dump_json(exclude_none=True).encode() + b"\n")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Drain what is left, stop, and remove the FIFO."""
        if self._kernel is not None:
            self._kernel.__exit__(None, None, None)
        if self._reader is not None:
            self._reader.stop()
        for fd in (self._fd, self._keep):
            os.close(fd)
        self.fifo.unlink(missing_ok=True)

    def _drain(self) -> None:
        with self._write_lock, self.log.open("ab") as out:
            while True:
                try:
                    data = os.read(self._fd, 1 << 16)
                except BlockingIOError:
                    return
                if not data:
                    return
                out.write(data)
