"""``ptb trace show``, ``ptb doctor``, ``ptb agents``: as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from posttrainbench.testing.fake_trials import write_trial_record
from posttrainbench.trial import TrialPaths, TrialSpec

from .streams import STREAMS

PLANTED = "sk-ant-doctor-PLANTED-0123456789"


def ptb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posttrainbench.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
        check=False,
    )


def fake_trial(runs: Path) -> TrialPaths:
    """A run directory whose agent (claude-code) has run: trial.json and raw.jsonl only."""
    paths = TrialPaths(runs / "exp" / "claude-code_arith_tiny_0.05h_r1_abcdef0123")
    paths.agent_dir.mkdir(parents=True)
    spec = TrialSpec(
        agent="claude-code",
        agent_config="claude-sonnet-4-5",
        model="m",
        benchmark="arith",
        hours=0.05,
    )
    write_trial_record(paths, spec)
    with paths.raw_stream.open("w") as handle:
        for i, line in enumerate(STREAMS["claude-code"]):
            record = {"ts": f"2026-01-01T00:00:{i:02d}+00:00", "stream": "stdout", "line": line}
            handle.write(json.dumps(record) + "\n")
    return paths


def test_trace_show(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    paths = fake_trial(runs)
    as_json = ptb("trace", "show", "claude-code_arith", "--runs-dir", str(runs), "--json")
    assert as_json.returncode == 0, as_json.stderr
    trace = json.loads(as_json.stdout)
    assert trace["schema_version"] == "ATIF-v1.4"
    assert trace["final_metrics"]["total_cost_usd"] > 0
    shown = ptb("trace", "show", str(paths.root))
    assert shown.returncode == 0, shown.stderr
    for text in ("▶ Bash", "bash task/timer.sh", "Remaining time: 0:05", "Check the time first."):
        assert text in shown.stdout
    assert "cost $0.0133 (stream)" in shown.stdout
    missing = ptb("trace", "show", "nope", "--runs-dir", str(runs))
    assert missing.returncode == 2 and "No trial 'nope'" in missing.stderr


def test_doctor_reports_keys_without_values(tmp_path: Path) -> None:
    env = {
        "ANTHROPIC_API_KEY": PLANTED,
        "PTB_NPM_PREFIX": str(tmp_path / "empty"),
        "PATH": "/usr/bin:/bin",
    }
    done = ptb("doctor", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert PLANTED not in done.stdout
    report = json.loads(done.stdout)
    assert report["keys"]["ANTHROPIC_API_KEY"] is True
    assert report["keys"]["GEMINI_API_KEY"] is (bool(os.environ.get("GEMINI_API_KEY")))
    clis = {cli["agent"]: cli for cli in report["agent_clis"]}
    assert set(clis) == {"claude-code", "codex", "gemini-cli", "opencode"}
    assert clis["codex"]["pinned"] == "0.169.0"
    assert any(box["sandbox"] == "process" and box["works"] for box in report["sandboxes"])
    assert report["network"]["policies"]["none"] is True
    assert set(report["network"]["tools"]) == {"ip", "nsenter", "slirp4netns", "nft"}
    text = ptb("doctor", env=env)
    assert text.returncode == 0 and PLANTED not in text.stdout
    assert "ptb agents install claude-code" in text.stdout
    assert "Agent network (stack: slirp4netns)" in text.stdout


def test_agents_install_rejects_unknown_names() -> None:
    done = ptb("agents", "install", "cursor")
    assert done.returncode == 2 and "Unknown agent CLI cursor" in done.stderr


def test_run_fails_before_starting_when_the_cli_is_missing(
    tmp_path: Path, tiny_model: Path
) -> None:
    runs = tmp_path / "runs"
    env = {"PTB_NPM_PREFIX": str(tmp_path / "empty"), "PATH": "/usr/bin:/bin"}
    args = ["run", "--agent", "codex:gpt-5.2", "--model", str(tiny_model), "--benchmark", "arith"]
    done = ptb(*args, "--hours", "0.1", "--runs-dir", str(runs), env=env)
    assert done.returncode == 2
    assert "ptb agents install codex" in done.stderr
    assert not runs.exists() or not any(runs.rglob("trial.json"))
