"""One harness per trial: a lock file with its holder and a heartbeat, safe on shared disks.

Rule: a harness takes ``.lock`` of the trial folder before prepare and holds it until
finalize ends. The lock is created with ``O_CREAT | O_EXCL`` (atomic on local disks and
on NFS v3+, unlike ``flock``) and names its holder: host, pid, start time, and a
heartbeat refreshed every ``heartbeat_s`` by a thread. A second harness finds it and stops
at once with ``trial <id> is running (pid N on HOST since T)``, unless the lock is stale:
its pid is dead on this host, or its heartbeat is older than ``stale_after_s`` (another
host). A stale lock is taken over by writing a new one to a temporary file and renaming
it into place (atomic), and the takeover is recorded in ``events.jsonl``. A holder whose
heartbeat finds another token in the lock has lost it and says so at the next phase.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Literal

from pydantic import ValidationError

from posttrainbench._fileio import append_jsonl, atomic_write_text
from posttrainbench.errors import UserError
from posttrainbench.records import Record
from posttrainbench.trial.events import utc_now

__all__ = ["LockHolder", "LockTakeover", "TrialBusyError", "TrialLock", "pid_alive"]

HEARTBEAT_S = 15.0
"""How often the holder refreshes its heartbeat."""
STALE_AFTER_S = 300.0
"""A heartbeat older than this (clock skew between hosts included) marks a dead holder."""


class TrialBusyError(UserError):
    """Another live harness holds the trial."""


class LockHolder(Record):
    """``.lock``: who runs the trial."""

    host: str
    """Host name of the holder."""
    pid: int
    """Process id of the holder on ``host``."""
    started_at: str
    """When the holder took the lock (ISO 8601, UTC)."""
    heartbeat: float
    """Last time (Unix seconds) the holder said it is alive."""
    token: str
    """Random id of this holding, to tell a takeover from our own lock."""


class LockTakeover(Record):
    """A line of ``events.jsonl``: a harness took over a stale lock."""

    ts: str
    """When (ISO 8601, UTC)."""
    event: Literal["lock_takeover"] = "lock_takeover"
    previous: LockHolder | Literal["unreadable"]
    """The holder whose lock went stale (``unreadable``: its lock file did not parse)."""
    holder: LockHolder
    """The new holder."""


class TrialLock:
    """Context manager holding ``path`` for ``trial_id``; see the module docstring."""

    def __init__(
        self,
        path: Path,
        trial_id: str,
        events: Path,
        *,
        heartbeat_s: float = HEARTBEAT_S,
        stale_after_s: float = STALE_AFTER_S,
    ) -> None:
        self.path, self.trial_id, self.events = path, trial_id, events
        self.heartbeat_s, self.stale_after_s = heartbeat_s, stale_after_s
        self.holder = LockHolder(
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=utc_now(),
            heartbeat=time.time(),
            token=uuid.uuid4().hex,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: LockHolder | None = None
        """The holder that took the lock from us, if one did."""

    def __enter__(self) -> TrialLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or a stale one over; raise :class:`TrialBusyError` when it is held."""
        if not self._create():
            current = self._read()
            if current is not None and not self._stale(current):
                raise self._busy(current)
            self._write()
            takeover = LockTakeover(
                ts=utc_now(), previous=current or "unreadable", holder=self.holder
            )
            append_jsonl(self.events, takeover.model_dump(mode="json"))
        self._thread = threading.Thread(target=self._beat, name="trial-lock", daemon=True)
        self._thread.start()

    def ensure_free(self) -> None:
        """Raise :class:`TrialBusyError` when a live harness holds the lock (nothing is taken).

        Lets a caller stop before it starts a process that would only find the trial busy.
        """
        current = self._read()
        if current is not None and not self._stale(current):
            raise self._busy(current)

    def _busy(self, current: LockHolder) -> TrialBusyError:
        return TrialBusyError(
            f"trial {self.trial_id} is running (pid {current.pid} on {current.host} "
            f"since {current.started_at})"
        )

    def check(self) -> None:
        """Raise :class:`TrialBusyError` if another harness took the lock over from us."""
        if self.lost is not None:
            raise TrialBusyError(
                f"trial {self.trial_id} was taken over by pid {self.lost.pid} on "
                f"{self.lost.host}; this harness stops"
            )

    def release(self) -> None:
        """Stop the heartbeat and remove the lock if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        current = self._read()
        if current is not None and current.token == self.holder.token:
            self.path.unlink(missing_ok=True)

    def _create(self) -> bool:
        data = self.holder.model_dump_json().encode("utf-8")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def _write(self) -> None:
        atomic_write_text(self.path, self.holder.model_dump_json())

    def _read(self) -> LockHolder | None:
        try:
            return LockHolder.model_validate_json(self.path.read_bytes())
        except (OSError, ValidationError):
            return None  # missing, or torn by a crash mid-write: stale

    def _stale(self, holder: LockHolder) -> bool:
        if holder.host == self.holder.host and not pid_alive(holder.pid):
            return True
        return time.time() - holder.heartbeat > self.stale_after_s

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            current = self._read()
            if current is not None and current.token != self.holder.token:
                self.lost = current
                return
            self.holder = self.holder.model_copy(update={"heartbeat": time.time()})
            self._write()


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
