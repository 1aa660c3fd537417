"""The agent registry: one line per scaffold."""

from __future__ import annotations

from posttrainbench._registry import Registry
from posttrainbench.agents.base import Agent, AgentFactory

__all__ = ["AGENTS", "get_agent"]

AGENTS: Registry[AgentFactory] = Registry(
    "agent",
    {
        "noop": "posttrainbench.agents.builtin:NoopAgent.from_config",
        "reference": "posttrainbench.agents.builtin:ReferenceAgent.from_config",
        "command": "posttrainbench.agents.builtin:CommandAgent.from_config",
        "baseline-zero-shot": "posttrainbench.agents.baselines:zero_shot",
        "baseline-few-shot": "posttrainbench.agents.baselines:few_shot",
        "baseline-instruct": "posttrainbench.agents.baselines:instruct",
        "claude-code": "posttrainbench.agents.scaffolds:claude_code",
        "codex": "posttrainbench.agents.scaffolds:codex",
        "gemini-cli": "posttrainbench.agents.scaffolds:gemini_cli",
        "opencode": "posttrainbench.agents.scaffolds:opencode",
    },
)


def get_agent(name: str, config: str = "") -> Agent:
    """Build the agent ``name`` with its ``config`` string."""
    return AGENTS.resolve(name)(config)
