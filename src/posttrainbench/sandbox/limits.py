"""Resource limits of one agent: memory, process count and disk written.

Settings come from the experiment file (``[limits]``) or the trial spec; unset values are
derived from this machine (``default_limits``). The mechanism that enforces them is the
best one the host offers (``limit_mechanism``): a cgroup v2 subtree, else cgroup v1
``memory`` and ``pids`` hierarchies (many clusters still run v1), else rlimits. Disk
written (workspace, the agent's /tmp and $HOME) is measured by the harness's watchdog in
every mechanism, with a per-file size cap (``RLIMIT_FSIZE``) enforced by the kernel.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LimitSettings", "Limits", "default_limits", "limit_mechanism"]

_GIB = 1 << 30
_MEMORY_SHARE = 0.8
"""Default memory limit: this share of the machine's RAM."""
_DISK_SHARE = 0.5
"""Default disk limit: this share of the free space where the trial lives."""
_DEFAULT_PROCESSES = 4096
"""Default process (and thread) count: ample for training, fatal to a fork bomb."""


class LimitSettings(BaseModel):
    """Limits as a user writes them (``[limits]`` of an experiment file); None = derived."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_gb: float | None = Field(default=None, gt=0)
    """Memory of the agent's whole process tree, in GiB (default: 80 % of RAM)."""
    processes: int | None = Field(default=None, ge=16)
    """Processes and threads alive at once (default 4096)."""
    disk_gb: float | None = Field(default=None, gt=0)
    """Bytes written to the workspace, /tmp and $HOME together, in GiB (default: half
    of the free space where the trial folder lives)."""


@dataclass(frozen=True)
class Limits:
    """Resolved limits of one sandboxed run, in bytes and counts."""

    memory_bytes: int
    processes: int
    disk_bytes: int
    disk_paths: tuple[Path, ...] = field(default=())
    """Host folders whose total size counts against ``disk_bytes``."""

    def record(self) -> dict[str, int]:
        """The limits as the trial records them."""
        return {
            "memory_bytes": self.memory_bytes,
            "processes": self.processes,
            "disk_bytes": self.disk_bytes,
        }


def default_limits(
    settings: LimitSettings | None, disk_paths: Sequence[Path], *, free_from: Path | None = None
) -> Limits:
    """``settings`` with every unset value derived from this machine."""
    settings = settings or LimitSettings()
    memory = (
        int(settings.memory_gb * _GIB)
        if settings.memory_gb is not None
        else int(_total_memory() * _MEMORY_SHARE)
    )
    if settings.disk_gb is not None:
        disk = int(settings.disk_gb * _GIB)
    else:
        anchor = free_from or (disk_paths[0] if disk_paths else Path("/"))
        while not anchor.exists() and anchor != anchor.parent:
            anchor = anchor.parent
        disk = max(_GIB, int(shutil.disk_usage(anchor).free * _DISK_SHARE))
    return Limits(
        memory_bytes=memory,
        processes=settings.processes or _DEFAULT_PROCESSES,
        disk_bytes=disk,
        disk_paths=tuple(disk_paths),
    )


def _total_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def limit_mechanism() -> str:
    """How limits are enforced here: ``cgroup v2``, ``cgroup v1`` or ``rlimits``."""
    from posttrainbench.sandbox._cgroups import CgroupSet

    return CgroupSet.mechanism()
