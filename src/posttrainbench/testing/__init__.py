"""Test doubles that are real implementations: a tiny model factory, fake agents."""

from posttrainbench.testing.fake_agent_cli import install_fake_cli
from posttrainbench.testing.fake_agent_server import FakeAgentServer
from posttrainbench.testing.fake_openai import FakeError, FakeOpenAIServer, FakeRequest
from posttrainbench.testing.lineage_scenarios import LineageScenarios, build_lineage_scenarios
from posttrainbench.testing.tiny_model import build_tiny_model

__all__ = [
    "FakeAgentServer",
    "FakeError",
    "FakeOpenAIServer",
    "FakeRequest",
    "LineageScenarios",
    "build_lineage_scenarios",
    "build_tiny_model",
    "install_fake_cli",
]
