"""Which host GPUs a trial uses, from what its executor (or SLURM) made visible."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.errors import UserError
from posttrainbench.trial.agent_env import agent_environment, assigned_gpus


def test_the_first_visible_gpus_are_the_trials() -> None:
    assert assigned_gpus(2, {"CUDA_VISIBLE_DEVICES": "4,6,7"}) == [4, 6]
    assert assigned_gpus(2, {}) == [0, 1]
    assert assigned_gpus(0, {"CUDA_VISIBLE_DEVICES": ""}) == []
    # UUIDs: CUDA numbers the visible devices from 0.
    assert assigned_gpus(1, {"CUDA_VISIBLE_DEVICES": "GPU-abc"}) == [0]


def test_too_few_visible_gpus_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="needs 2 GPU"):
        assigned_gpus(2, {"CUDA_VISIBLE_DEVICES": "3"})


def test_the_agent_sees_its_host_gpus(tmp_path: Path) -> None:
    env = agent_environment(tmp_path, 2, (), {}, host={}, gpu_ids=[4, 6])
    assert env["CUDA_VISIBLE_DEVICES"] == "4,6"
    assert agent_environment(tmp_path, 1, (), {}, host={})["CUDA_VISIBLE_DEVICES"] == "0"
