"""An evaluation tells the user how far it is while it runs: samples, rate, ETA."""

from __future__ import annotations

import re
from pathlib import Path

from posttrainbench.catalog import family_of
from posttrainbench.trial.follow import LineFollower
from posttrainbench.trial.scoring import evaluate_submission


def test_line_follower_passes_on_only_the_progress_lines(tmp_path: Path) -> None:
    log = tmp_path / "process.log"
    log.write_text("")
    seen: list[str] = []
    with LineFollower(log, seen.append, "eval: ", poll_s=0.05):
        with log.open("a") as handle:
            handle.write("loading model\neval: 0/24 samples · 0.0/s\nwarning\neval: 24/2")
    assert seen == ["eval: 0/24 samples · 0.0/s"]


def test_an_evaluation_reports_its_progress_to_the_user(tiny_model: Path, tmp_path: Path) -> None:
    seen: list[str] = []
    outcome = evaluate_submission(
        tiny_model, "arith-mini", family_of(tiny_model), tmp_path / "eval", seen.append
    )
    assert outcome.metrics is not None, outcome
    progress = [line for line in seen if line.startswith("eval: ")]
    assert progress[0] == "eval: 0/24 samples"
    assert re.fullmatch(r"eval: 24/24 samples( · [0-9.]+/s)?", progress[-1]), progress
