"""Resource samples taken while the agent runs (``monitor.jsonl``), and their peaks.

A sample every ``interval_s`` (5 s by default); when the agent ends, ``peaks_path``
(``monitor_peaks.json``) gets the highest load, host memory in use and GPU memory in use
seen, merged with the peaks of earlier runs of the same trial. The agent's own peaks
(its cgroup's memory and processes, its disk written) are in the solve record.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path
from types import TracebackType

from posttrainbench._fileio import append_jsonl
from posttrainbench.records import MonitorPeaks, ResourceSample
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


def _number(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0  # "[N/A]"


def sample(workspace: Path) -> ResourceSample:
    """One sample: load, memory, workspace disk use, GPUs."""
    return ResourceSample(
        ts=utc_now(),
        load_1m=os.getloadavg()[0],
        memory=_memory(),
        disk_free_bytes=shutil.disk_usage(workspace).free,
        gpus=_gpus(),
    )


class ResourceMonitor:
    """Samples every ``interval_s`` seconds in a background thread while in a ``with`` block."""

    def __init__(
        self,
        path: Path,
        workspace: Path,
        interval_s: float = 5.0,
        peaks_path: Path | None = None,
    ) -> None:
        self.path = path
        self.peaks_path = peaks_path
        self.workspace = workspace
        self.interval_s = interval_s
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ptb-monitor", daemon=True)

    def _loop(self) -> None:
        while True:
            record = sample(self.workspace)
            append_jsonl(self.path, record.model_dump(mode="json"))
            self._keep_peaks(record)
            if self._stop.wait(self.interval_s):
                return

    def _keep_peaks(self, record: ResourceSample) -> None:
        memory = record.memory
        used = {
            "load_1m": record.load_1m,
            "memory_used_bytes": float(memory.get("MemTotal", 0) - memory.get("MemAvailable", 0)),
            "gpu_memory_used_mib": sum(_number(gpu.get("memory.used")) for gpu in record.gpus),
        }
        for key, value in used.items():
            self.peaks[key] = max(self.peaks.get(key, value), value)

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
        if self.peaks and self.peaks_path is not None:
            earlier: dict[str, float] = {}
            if self.peaks_path.exists():
                recorded = MonitorPeaks.load(self.peaks_path)
                earlier = recorded.model_dump(exclude_none=True, exclude={"schema_version"})
            merged = {k: max(v, earlier.get(k, v)) for k, v in self.peaks.items()}
            MonitorPeaks.model_validate(merged).save(self.peaks_path)
