"""One run's cgroups: a cgroup v2 subtree, or the v1 ``memory`` and ``pids`` hierarchies.

Each run gets fresh cgroups below the harness's own ones. The kernel holds the agent's
tree to the memory and process limits there; the harness reads usage, peaks and limit
hits from them, and lists every member for the final kill (a daemon that left the
process group cannot leave its cgroup).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from pathlib import Path

from posttrainbench.sandbox.limits import Limits

__all__ = ["CgroupSet"]

_ROOT = Path("/sys/fs/cgroup")
_V1_CONTROLLERS = ("memory", "pids")


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per v1 controller ('' for the v2 unified hierarchy)."""
    paths: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _read_int(path: Path, default: int = 0) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def _read_keyed(path: Path, key: str) -> int:
    """A value from a ``key value`` file (``memory.events``, ``pids.events``...)."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


@dataclass(frozen=True)
class CgroupSet:
    """The cgroup directories of one run, by controller (``unified`` for v2)."""

    version: int
    dirs: dict[str, Path]

    @staticmethod
    @functools.cache
    def mechanism() -> str:
        """``cgroup v2``, ``cgroup v1`` or ``rlimits``: what can enforce limits here."""
        probe = CgroupSet.create(None)
        if probe is None:
            return "rlimits"
        probe.remove()
        return f"cgroup v{probe.version}"

    @classmethod
    def create(cls, limits: Limits | None) -> CgroupSet | None:
        """Fresh cgroups holding ``limits`` (None: unlimited), or None where none can be made."""
        name = f"ptb-{uuid.uuid4().hex[:16]}"
        try:
            own = _own_paths()
        except OSError:
            return None
        for version, parents in ((2, cls._v2_parents(own)), (1, cls._v1_parents(own))):
            if parents is None:
                continue
            made: dict[str, Path] = {}
            try:
                for controller, parent in parents.items():
                    made[controller] = parent / name
                    made[controller].mkdir()
                found = cls(version, made)
                if limits is not None:
                    found._apply(limits)
                return found
            except OSError:
                cls(version, made).remove()
        return None

    @staticmethod
    def _v2_parents(own: dict[str, str]) -> dict[str, Path] | None:
        controllers = _ROOT / "cgroup.controllers"
        if not controllers.exists() or "" not in own:
            return None
        if not {"memory", "pids"} <= set(controllers.read_text().split()):
            return None
        parent = _ROOT / own[""].lstrip("/")
        try:
            (parent / "cgroup.subtree_control").write_text("+memory +pids")
        except OSError:
            return None  # the harness's cgroup holds processes: v2 forbids a child then
        return {"unified": parent}

    @staticmethod
    def _v1_parents(own: dict[str, str]) -> dict[str, Path] | None:
        parents = {}
        for controller in _V1_CONTROLLERS:
            mount = _ROOT / controller
            if controller not in own or not (mount / "cgroup.procs").exists():
                return None
            parents[controller] = mount / own[controller].lstrip("/")
        return parents

    def _apply(self, limits: Limits) -> None:
        if self.version == 2:
            unified = self.dirs["unified"]
            (unified / "memory.max").write_text(str(limits.memory_bytes))
            swap = unified / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
            (unified / "pids.max").write_text(str(limits.processes))
            return
        memory = self.dirs["memory"]
        (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
        try:  # swap is memory too; absent when the kernel does not account it
            (memory / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_bytes))
        except OSError:
            pass
        (self.dirs["pids"] / "pids.max").write_text(str(limits.processes))

    @property
    def procs_files(self) -> tuple[Path, ...]:
        """The ``cgroup.procs`` files a process writes ``0`` to, to join this set."""
        return tuple(directory / "cgroup.procs" for directory in self.dirs.values())

    def members(self) -> set[int]:
        """Every process in the set."""
        pids: set[int] = set()
        for procs in self.procs_files:
            try:
                pids.update(int(pid) for pid in procs.read_text().split())
            except (OSError, ValueError):
                pass
        return pids

    def memory_bytes(self) -> tuple[int, int]:
        """Current and peak memory of the set."""
        if self.version == 2:
            unified = self.dirs["unified"]
            current = _read_int(unified / "memory.current")
            return current, max(current, _read_int(unified / "memory.peak"))
        memory = self.dirs["memory"]
        return (
            _read_int(memory / "memory.usage_in_bytes"),
            _read_int(memory / "memory.max_usage_in_bytes"),
        )

    def processes(self) -> int:
        """Processes and threads in the set now."""
        directory = self.dirs["unified" if self.version == 2 else "pids"]
        return _read_int(directory / "pids.current")

    def oom_kills(self) -> int:
        """Processes the kernel killed for the memory limit."""
        if self.version == 2:
            return _read_keyed(self.dirs["unified"] / "memory.events", "oom_kill")
        return _read_keyed(self.dirs["memory"] / "memory.oom_control", "oom_kill")

    def process_limit_hits(self) -> int:
        """Forks refused for the process limit."""
        directory = self.dirs["unified" if self.version == 2 else "pids"]
        return _read_keyed(directory / "pids.events", "max")

    def remove(self) -> None:
        """Delete the cgroups (they must be empty; a failure leaves them for the watchdog)."""
        for directory in self.dirs.values():
            try:
                directory.rmdir()
            except OSError:
                pass
