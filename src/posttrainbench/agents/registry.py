"""The agent registry: one line per scaffold."""

from __future__ import annotations

from posttrainbench._registry import Registry
from posttrainbench.agents.base import Agent, AgentFactory
from posttrainbench.errors import UserError

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
    """Build the agent ``name`` with its ``config`` string.

    Raises:
        UserError: Unknown name, a bad config, or a plug-in whose factory does not build an
            :class:`Agent` (whose defaults give every agent resume, redaction and traces).
    """
    agent: object = AGENTS.resolve(name)(config)
    if not isinstance(agent, Agent):
        raise UserError(
            f"agent '{name}' built a {type(agent).__name__}, which is not a "
            "posttrainbench.agents.Agent: subclass it (only invocation() is required)."
        )
    return agent
