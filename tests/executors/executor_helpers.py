"""Helpers shared by the executor tests: experiment files and the ``ptb`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner


def write_experiment(
    folder: Path, name: str, model: Path, agents: list[str], extra: str = "", **keys: Any
) -> Path:
    """An experiment file over the toy benchmark; ``keys`` are more top-level keys."""
    lines = [
        f'name = "{name}"',
        f"agents = {json.dumps(agents)}",
        f"models = [{json.dumps(str(model))}]",
        'benchmarks = ["arith-mini"]',
        "hours = 0.05",
        *(f"{key} = {json.dumps(value)}" for key, value in keys.items()),
        extra,
    ]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def ptb_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "posttrainbench.cli", *args]


def ptb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ptb_command(*args),
        capture_output=True,
        text=True,
        timeout=400,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
    )


def ptb_here(*args: str, env: dict[str, str] | None = None) -> Result:
    """``ptb ARGS`` run in this process (the real CLI; its trials use this process's zygote)."""
    from posttrainbench.cli import app

    return CliRunner().invoke(app, list(args), env=env)


def status_of(path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    completed = ptb("status", str(path), "--json", env=env)
    assert completed.returncode == 0, completed.stderr
    data: dict[str, Any] = json.loads(completed.stdout)
    return data


def wait_for(condition: Callable[[], bool], timeout_s: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def job_record(experiment_dir: Path, trial_id: str) -> dict[str, Any]:
    path = experiment_dir / "_executor" / "jobs" / f"{trial_id}.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data
