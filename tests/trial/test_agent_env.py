from pathlib import Path

import pytest

from posttrainbench.errors import UserError
from posttrainbench.trial.agent_env import agent_environment

HOST = {
    "PATH": "/usr/bin",
    "OPENAI_API_KEY": "sk-judge",
    "ANTHROPIC_API_KEY": "sk-agent",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "HF_HUB_OFFLINE": "1",
}


def test_only_the_scaffold_keys_pass(tmp_path: Path) -> None:
    env = agent_environment(tmp_path, 0, ["ANTHROPIC_API_KEY"], {}, host=HOST)
    assert env["ANTHROPIC_API_KEY"] == "sk-agent"
    assert "OPENAI_API_KEY" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["HOME"] == str(tmp_path)
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["CUDA_VISIBLE_DEVICES"] == ""


def test_gpus_are_numbered(tmp_path: Path) -> None:
    assert agent_environment(tmp_path, 2, [], {}, host=HOST)["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_a_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="GEMINI_API_KEY"):
        agent_environment(tmp_path, 0, ["GEMINI_API_KEY"], {}, host=HOST)
