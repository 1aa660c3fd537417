"""The resource monitor: samples while the agent runs, then the peaks."""

from __future__ import annotations

import json
import time
from pathlib import Path

from posttrainbench.trial.monitor import ResourceMonitor


def test_samples_are_taken_at_the_interval_and_peaks_kept(tmp_path: Path) -> None:
    samples, peaks = tmp_path / "monitor.jsonl", tmp_path / "peaks.json"
    peaks.write_text(json.dumps({"load_1m": 1e9}))  # an earlier run's peak stays

    with ResourceMonitor(samples, tmp_path, interval_s=0.05, peaks_path=peaks):
        while len(samples.read_text().splitlines()) < 3 if samples.exists() else True:
            time.sleep(0.01)

    records = [json.loads(line) for line in samples.read_text().splitlines()]
    kept = json.loads(peaks.read_text())
    assert kept["load_1m"] == 1e9
    used = [r["memory"]["MemTotal"] - r["memory"]["MemAvailable"] for r in records]
    assert kept["memory_used_bytes"] == max(used)
