"""Follow a process tree through /proc, including members that left its process group.

A process group misses descendants that called ``setsid`` (daemons do), so the tree is
also tracked by parent links, polled while it runs. Every member is remembered with its
start time, which tells a live member apart from an unrelated process that reused its pid.
A daemon whose parent exits between two polls loses its link to the tree; inside a PID
namespace it is still found, by the namespace, before the tree is signalled.
"""

from __future__ import annotations

import os
import signal
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessTree", "process_state"]

# Freezing repeats until a round finds no new member; a fork bomb still ends after this.
_MAX_FREEZE_ROUNDS = 20


@dataclass(frozen=True)
class _Stat:
    ppid: int
    state: str
    start: int
    """Clock ticks from boot to the process's start: unique per pid incarnation."""


def _stat(pid: int) -> _Stat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; it ends at the last ')'.
    fields = raw[raw.rindex(b")") + 2 :].split()
    return _Stat(ppid=int(fields[1]), state=fields[0].decode(), start=int(fields[19]))


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (``R``, ``S``, ``T`` stopped, ``t`` traced...), None if gone."""
    stat = _stat(pid)
    return stat.state if stat else None


def _snapshot() -> dict[int, _Stat]:
    stats: dict[int, _Stat] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    return stats


def _pid_namespace(pid: int) -> int | None:
    try:
        link = str(Path(f"/proc/{pid}/ns/pid").readlink())  # "pid:[4026531836]"
    except OSError:
        return None
    return int(link[link.index("[") + 1 : -1])


def _send(pid: int, sig: int, *, group: bool = False) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # already gone, or reaped and reused by a process we may not touch


class ProcessTree:
    """Every process seen below one top process (itself a process group leader)."""

    def __init__(self, top: int) -> None:
        self.top = top
        self.pid_namespace: int | None = None
        """A PID namespace (inode) whose every process belongs to the tree."""
        stat = _stat(top)
        self._members: dict[int, int] = {top: stat.start} if stat else {}

    def refresh(self, *, namespace: bool = False) -> set[int]:
        """Record the current descendants of every live member; return the new ones.

        Args:
            namespace: Also add every process of ``pid_namespace``: exhaustive, but it
                reads a link per host process, so it is kept for the moments of signalling.
        """
        stats = _snapshot()
        children: defaultdict[int, list[int]] = defaultdict(list)
        for pid, stat in stats.items():
            children[stat.ppid].append(pid)
        # Members whose parent died were reparented away from the tree; they stay roots.
        stack = [pid for pid, start in self._members.items() if _alive(stats.get(pid), start)]
        if namespace and self.pid_namespace is not None:
            stack += [pid for pid in stats if _pid_namespace(pid) == self.pid_namespace]
        seen: set[int] = set()
        new: set[int] = set()
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            if self._members.get(pid) != stats[pid].start:
                self._members[pid] = stats[pid].start
                new.add(pid)
            stack += children.get(pid, ())
        return new

    def alive(self) -> list[int]:
        """Members still running (zombies count as ended)."""
        return [pid for pid, start in self._members.items() if _alive(_stat(pid), start)]

    def signal(self, sig: int, *, include_top: bool = True) -> None:
        """Send ``sig`` to every live member and, with ``include_top``, the top's group."""
        self.refresh(namespace=True)
        if include_top:
            # Also reaches group members spawned since the last refresh.
            _send(self.top, sig, group=True)
        for pid in self.alive():
            if include_top or pid != self.top:
                _send(pid, sig)

    def kill(self) -> None:
        """Freeze the whole tree with SIGSTOP, then SIGKILL it.

        Killing a running tree races its forks: a child born while its parent dies is
        reparented away before the next refresh could see it. Stopped processes cannot
        fork, so the tree is frozen round by round until no new member appears.
        """
        for _ in range(_MAX_FREEZE_ROUNDS):
            self.signal(signal.SIGSTOP)
            if not self.refresh(namespace=True):
                break
        self.signal(signal.SIGKILL)

    def wait_gone(self, timeout_s: float) -> bool:
        """Wait until no member runs; False if some still do after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True


def _alive(stat: _Stat | None, start: int) -> bool:
    return stat is not None and stat.start == start and stat.state not in ("Z", "X")
