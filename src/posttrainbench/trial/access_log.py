"""Reads of the test split during solve, recorded by the harness, not by the agent.

Every Python the agent starts loads ``_access_hook/sitecustomize.py`` (its folder is put
first on ``PYTHONPATH``): an audit hook that reports opens of the benchmark's data files
and the harness's ``posttrainbench.test_split`` audit event (raised when the test split
is generated or loaded) to a FIFO mounted into the sandbox. :class:`AccessRecorder` reads
the FIFO during solve and appends each record to ``agent/test_access.jsonl``, a file the
agent cannot reach. The harness's ``task/evaluate.py`` runs (and their children) are the
one legitimate reader and are not recorded; ``test_access`` flags any other reader.

Limits, stated: a process that disables site initialisation (``python -S``/``-I``),
clears ``PYTHONPATH`` or is not Python is not observed; the record is evidence when
present, and the other detectors (contents, journal, memorization) do not depend on it.
"""

from __future__ import annotations

import os
import select
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["HOOK_DIR", "AccessRecorder"]

HOOK_DIR = Path(__file__).parent / "_access_hook"
"""The folder holding ``sitecustomize.py``; only it is put on the agent's PYTHONPATH."""


class AccessRecorder:
    """A FIFO the agent's hook writes to, drained into ``log`` while the block runs."""

    def __init__(self, fifo: Path, log: Path, watched: list[Path], exempt: Path) -> None:
        self.fifo = fifo
        self.log = log
        self.watched = watched
        self.exempt = exempt
        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._loop, name="ptb-access", daemon=True)
        self._fd = -1
        self._keep = -1

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
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Drain what is left, stop, and remove the FIFO."""
        os.write(self._stop_write, b"x")
        self._thread.join()
        self._drain()
        for fd in (self._fd, self._keep, self._stop_read, self._stop_write):
            os.close(fd)
        self.fifo.unlink(missing_ok=True)

    def _loop(self) -> None:
        while True:
            ready, _, _ = select.select([self._fd, self._stop_read], [], [])
            if self._stop_read in ready:
                return
            self._drain()

    def _drain(self) -> None:
        with self.log.open("ab") as out:
            while True:
                try:
                    data = os.read(self._fd, 1 << 16)
                except BlockingIOError:
                    return
                if not data:
                    return
                out.write(data)
