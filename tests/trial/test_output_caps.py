"""Agent output kept on disk is capped per line and in total, and the cut is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrainbench.trial import TrialPaths, TrialRunner, TrialSpec, trial_dir


def test_a_huge_line_and_a_flood_of_lines_are_cut_and_the_cut_recorded(
    trial_runs: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_MAX_AGENT_OUTPUT_MB", "2")
    command = (
        "head -c 20000000 /dev/zero | tr '\\0' a; echo; "
        "for i in $(seq 40000); do echo flood-line-$i-padding-padding-padding; done"
    )
    spec = TrialSpec(
        agent="command",
        agent_config=command,
        model=str(tiny_model),
        benchmark="arith-mini",
        hours=0.05,
        experiment="output-caps",
    )
    TrialRunner(spec, trial_runs, log=lambda _: None).run()
    paths = TrialPaths(trial_dir(trial_runs, spec))
    assert paths.raw_stream.stat().st_size <= 2 * (1 << 20) + 4096
    records = [json.loads(line) for line in paths.raw_stream.read_text().splitlines()]
    longest = max(len(record["line"]) for record in records)
    assert longest == 1 << 20  # the 20 MB line kept its first MiB only
    (cut,) = [json.loads(r["line"]) for r in records if r["stream"] == "harness"]
    assert cut["kind"] == "output_cut" and cut["lines_cut"] == 1
    assert cut["lines_dropped"] > 0 and cut["bytes_dropped"] > 19_000_000
    assert paths.trace.stat().st_size < 4 * (1 << 20)  # the trace holds no more than kept
    assert "agent output cut" in paths.trace.read_text()
    assert json.loads(paths.result.read_text())["fallback_reason"]  # and the trial finished
