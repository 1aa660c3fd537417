"""``ptb demo`` as a user runs it: real trials whose training really beats the base model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_reference_agent_beats_the_base_model(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    completed = subprocess.run(
        [sys.executable, "-m", "posttrainbench.cli", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    results = {
        record["agent"]: record
        for record in (
            json.loads(path.read_text()) for path in (out / "runs").glob("demo/*/result.json")
        )
    }
    assert set(results) == {"noop", "reference"}
    noop, reference = results["noop"], results["reference"]
    # Both scores come from the pristine evaluation of each submitted model.
    assert noop["fallback_reason"] is None and reference["fallback_reason"] is None
    assert reference["solve_outcome"] in {"exited", "timed_out"}
    assert reference["score"] >= noop["score"] + 0.3, (noop["score"], reference["score"])
    # Progress and the leaderboard reach the user.
    assert "sft:" in completed.stdout
    assert "reference" in completed.stdout and "noop" in completed.stdout
