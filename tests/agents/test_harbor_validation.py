"""Exported trajectories validate against the real ``harbor`` package's ATIF models.

Harbor needs Python 3.12 to install, but its trajectory models are plain pydantic and
import on 3.11 straight from its wheel (a zip on ``sys.path``). ``scripts/install.sh --dev``
downloads the pinned wheel into ``.venv/harbor-wheel/``; ``PTB_HARBOR_WHEEL`` names
another. Harbor's trial result and config models need 3.12 and are not checked here.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from posttrainbench.agents import parse_stream
from posttrainbench.agents.parsers import HARNESS_STREAM, RawRecord
from posttrainbench.trial.harbor import trajectory_data

from .streams import STREAMS

HARBOR_VERSION = "0.25.0"


def _wheel() -> Path | None:
    named = os.environ.get("PTB_HARBOR_WHEEL")
    if named:
        return Path(named)
    found = sorted((Path(sys.prefix) / "harbor-wheel").glob(f"harbor-{HARBOR_VERSION}-*.whl"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def harbor_trajectory() -> Any:
    """Harbor's own ``Trajectory`` model, imported from its wheel."""
    wheel = _wheel()
    if wheel is None or not wheel.is_file():
        pytest.skip("no harbor wheel: run scripts/install.sh --dev (or set PTB_HARBOR_WHEEL)")
    sys.path.insert(0, str(wheel))
    try:
        return importlib.import_module("harbor.models.trajectories").Trajectory
    finally:
        sys.path.remove(str(wheel))


def _records(lines: list[str], stream: str = "stdout") -> list[RawRecord]:
    records = [
        RawRecord(f"2026-01-01T00:00:{i:02d}+00:00", stream, line) for i, line in enumerate(lines)
    ]
    resume = {"kind": "resume", "resume": 1, "session_id": "s", "message": "Time remains."}
    records.append(RawRecord("2026-01-01T00:01:00+00:00", HARNESS_STREAM, json.dumps(resume)))
    return records


BUILTIN_OUTPUT = {
    "noop": ["noop: copied /base to /ws/final_model"],
    "reference": ["sft: 2000 records, lr 0.002, up to 500 steps", "sft: step 10/500 loss 4.6"],
    "command": [],
}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_every_cli_trajectory_validates(name: str, harbor_trajectory: Any) -> None:
    stream_format = name.removesuffix("-legacy")
    trace = parse_stream(_records(STREAMS[name]), stream_format, stream_format)
    harbor_trajectory.model_validate(trajectory_data(trace))


@pytest.mark.parametrize("agent", sorted(BUILTIN_OUTPUT))
def test_every_builtin_trajectory_validates_with_steps(agent: str, harbor_trajectory: Any) -> None:
    records = _records(BUILTIN_OUTPUT[agent])[: len(BUILTIN_OUTPUT[agent])]  # no resume
    data = trajectory_data(parse_stream(records, "plain", agent))
    assert data["steps"], "ATIF needs at least one step"
    validated = harbor_trajectory.model_validate(data)
    assert len(validated.steps) == max(1, len(BUILTIN_OUTPUT[agent]))
