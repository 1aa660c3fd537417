"""Watching a running tree: its limits and peaks, a stalled top, and the harness's death.

``LimitGuard`` is polled by the runner's supervision loop: memory and processes come
from the run's cgroups (or, without them, from the tree's members in /proc), disk from a
walk of the writable folders, paced by how long the last walk took. ``Watchdog`` is a
separate tiny process that outlives a killed harness: when the harness's end of its pipe
closes without a goodbye, it kills the agent's process group and every member of its
cgroups, so no agent survives the harness (the ``process`` backend has no PID namespace
that would take its tree down).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from posttrainbench.sandbox._cgroups import CgroupSet
from posttrainbench.sandbox._proctree import ProcessTree, process_state
from posttrainbench.sandbox.limits import Limits

__all__ = ["LimitGuard", "Watchdog", "disk_usage"]

_DISK_MIN_INTERVAL_S = 2.0
_DISK_WALK_SHARE = 10
"""Walk the disk folders at most 1/_DISK_WALK_SHARE of the time."""
STALL_S = 30.0
"""A top process stopped or traced this long is a stalled sandbox, ended as a breach."""


def disk_usage(paths: tuple[Path, ...]) -> int:
    """Bytes allocated under ``paths`` (links not followed, each inode counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [str(path) for path in paths]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if (stat.st_dev, stat.st_ino) not in seen:
                    seen.add((stat.st_dev, stat.st_ino))
                    total += stat.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return total


@dataclass
class LimitGuard:
    """Checks one run against its limits at every poll; remembers the peaks."""

    limits: Limits | None
    cgroups: CgroupSet | None
    peaks: dict[str, int] = field(default_factory=dict)
    _next_disk: float = 0.0
    _stopped_since: float | None = None

    def check(self, tree: ProcessTree) -> str | None:
        """The breached limit with its evidence, or None while the run is within bounds."""
        limits = self.limits
        if limits is None:
            return self._stall(tree)
        memory, processes = self._usage(tree)
        self._peak("memory_bytes", memory)
        self._peak("processes", processes)
        if self.cgroups is not None and self.cgroups.oom_kills():
            return f"memory: over {limits.memory_bytes} bytes (the kernel killed a process)"
        if memory > limits.memory_bytes:
            return f"memory: {memory} bytes used, limit {limits.memory_bytes}"
        if self.cgroups is not None and self.cgroups.process_limit_hits():
            return f"processes: a fork was refused at the limit of {limits.processes}"
        if processes > limits.processes:
            return f"processes: {processes} alive, limit {limits.processes}"
        now = time.monotonic()
        if limits.disk_paths and now >= self._next_disk:
            used = disk_usage(limits.disk_paths)
            took = time.monotonic() - now
            self._next_disk = now + max(_DISK_MIN_INTERVAL_S, took * _DISK_WALK_SHARE)
            self._peak("disk_bytes", used)
            if used > limits.disk_bytes:
                return f"disk: {used} bytes written, limit {limits.disk_bytes}"
        return self._stall(tree)

    def final(self) -> str | None:
        """Record the last figures; the limit the kernel enforced before the tree ended.

        The kernel may kill (memory) or refuse (processes) and the agent end of it before
        a poll sees the breach: its counters still tell.
        """
        if self.limits is not None and self.limits.disk_paths:
            self._peak("disk_bytes", disk_usage(self.limits.disk_paths))
        if self.cgroups is None or self.limits is None:
            return None
        self._peak("memory_bytes", self.cgroups.memory_bytes()[1])
        if self.cgroups.oom_kills():
            return f"memory: over {self.limits.memory_bytes} bytes (the kernel killed a process)"
        if self.cgroups.process_limit_hits():
            return f"processes: a fork was refused at the limit of {self.limits.processes}"
        return None

    def _usage(self, tree: ProcessTree) -> tuple[int, int]:
        if self.cgroups is not None:
            memory, peak = self.cgroups.memory_bytes()
            self._peak("memory_bytes", peak)
            return memory, self.cgroups.processes()
        alive = tree.alive()
        return sum(_rss(pid) for pid in alive), len(alive)

    def _stall(self, tree: ProcessTree) -> str | None:
        # A stopped or ptrace-stopped top process would hold the run until its time limit.
        if process_state(tree.top) not in ("T", "t"):
            self._stopped_since = None
            return None
        now = time.monotonic()
        self._stopped_since = self._stopped_since or now
        if now - self._stopped_since >= STALL_S:
            return f"stalled: the sandbox's top process was stopped for {STALL_S:.0f} s"
        return None

    def _peak(self, key: str, value: int) -> None:
        self.peaks[key] = max(self.peaks.get(key, 0), value)


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


# Run with -I -S: no site, no package import, so it starts in a few milliseconds.
_WATCHDOG = """
import os, signal, sys, time
fd, group, procs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
said = b""
while True:
    chunk = os.read(fd, 1)
    if not chunk:
        break
    said += chunk
def members():
    found = set()
    for path in procs:
        try:
            found.update(int(pid) for pid in open(path).read().split())
        except (OSError, ValueError):
            pass
    return found
if said != b"done":
    for _ in range(100):
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
        left = members()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if not left:
            break
        time.sleep(0.05)
for path in procs:
    try:
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass
"""


class Watchdog:
    """A process that kills the tree (group ``group`` and the cgroups) if the harness dies."""

    def __init__(self, group: int, cgroups: CgroupSet | None) -> None:
        read, self._write = os.pipe()
        procs = [str(path) for path in cgroups.procs_files] if cgroups else []
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(read), str(group), *procs],
            pass_fds=(read,),
            start_new_session=True,  # not in the harness's group: it outlives a group kill
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(read)

    def release(self) -> None:
        """The harness ended the tree itself: the watchdog only removes the cgroups."""
        try:
            os.write(self._write, b"done")
        finally:
            os.close(self._write)
        self._process.wait()
