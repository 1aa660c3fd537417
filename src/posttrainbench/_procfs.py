"""What ``/proc`` says of a process on this host."""

from __future__ import annotations

from pathlib import Path

__all__ = ["process_start"]


def process_start(pid: int) -> str | None:
    """The start time of ``pid`` (clock ticks since boot), or None if it is gone or a zombie.

    With the pid, it names one process for good: a pid reused later starts at another time.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]
