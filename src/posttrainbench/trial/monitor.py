"""Resource samples taken while the agent runs (``monitor.jsonl``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from posttrainbench._fileio import append_jsonl
from posttrainbench.trial.events import utc_now

__all__ = ["ResourceMonitor"]


def _memory() -> dict[str, int]:
    fields: dict[str, int] = {}
    with Path("/proc/meminfo").open(encoding="utf-8") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in {"MemTotal", "MemAvailable"}:
                fields[key] = int(rest.split()[0]) * 1024
    return fields


def _gpus() -> list[dict[str, str]]:
    if shutil.which("nvidia-smi") is None:
        return []
    query = "index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw"
    try:
        output = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    keys = query.split(",")
    return [dict(zip(keys, line.split(", "), strict=False)) for line in output.splitlines()]


def sample(workspace: Path) -> dict[str, Any]:
    """One sample: load, memory, workspace disk use, GPUs."""
    disk = shutil.disk_usage(workspace)
    return {
        "ts": utc_now(),
        "load_1m": os.getloadavg()[0],
        "memory": _memory(),
        "disk_free_bytes": disk.free,
        "gpus": _gpus(),
    }


class ResourceMonitor:
    """Samples every ``interval_s`` seconds in a background thread while in a ``with`` block."""

    def __init__(self, path: Path, workspace: Path, interval_s: float = 60.0) -> None:
        self.path = path
        self.workspace = workspace
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ptb-monitor", daemon=True)

    def _loop(self) -> None:
        while True:
            append_jsonl(self.path, sample(self.workspace))
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> ResourceMonitor:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
