"""Agent scaffolds: how each agent is started, and the non-agentic built-ins."""

from posttrainbench.agents.base import Agent, AgentContext, AgentFactory, AgentInvocation
from posttrainbench.agents.registry import AGENTS, get_agent

__all__ = ["AGENTS", "Agent", "AgentContext", "AgentFactory", "AgentInvocation", "get_agent"]
