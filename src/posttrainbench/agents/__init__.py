"""Agent scaffolds: how each agent is started, its trace, and the non-agentic built-ins.

Choose an agent with ``--agent NAME[:CONFIG]`` (the grammar: ``agents._options``). The
CLI scaffolds (``claude-code``, ``codex``, ``gemini-cli``, ``opencode``) take
``NAME[:MODEL][?key=value&...]``::

    --agent claude-code                           # the CLI's default model
    --agent 'claude-code?effort=high'             # default model, one option
    --agent claude-code:claude-opus-4-6?effort=high
    --agent 'codex:gpt-5.2?effort=high&continue=30'
    --agent opencode:anthropic/claude-sonnet-4-5
    --agent 'codex:my-model?base_url=http://127.0.0.1:8000/v1'

Options: ``effort`` (reasoning effort, values per CLI), ``continue=M`` (when the agent
ends with more than M minutes of budget left, resume its session with a "time remains"
message; every resume is recorded in the trace), ``max_resumes`` (default 50), ``auth``
(``api_key`` or ``subscription``: ``CLAUDE_CODE_OAUTH_TOKEN`` for Claude Code, the
``~/.codex/auth.json`` of a ChatGPT login for Codex; default: the first one available),
``base_url`` (an API endpoint compatible with the CLI's provider). Quote the value in a
shell, since ``?`` and ``&`` are special there.

Other agents: ``noop``, ``reference[:steps=N]``, ``command:<shell command>``, and the
baseline rows ``baseline-zero-shot``, ``baseline-few-shot[:k=N]``, ``baseline-instruct``
(run them with ``ptb baseline``).
Install the CLIs with ``ptb agents install NAME``; ``ptb doctor`` shows what is ready.
"""

from posttrainbench.agents._options import split_agent
from posttrainbench.agents.base import Agent, AgentContext, AgentFactory, AgentInvocation
from posttrainbench.agents.cli import AuthMode, CliAgent, CliScaffold
from posttrainbench.agents.parsers import parse_stream
from posttrainbench.agents.registry import AGENTS, get_agent
from posttrainbench.agents.scaffolds import SCAFFOLDS
from posttrainbench.agents.trace import Trajectory

__all__ = [
    "AGENTS",
    "SCAFFOLDS",
    "Agent",
    "AgentContext",
    "AgentFactory",
    "AgentInvocation",
    "AuthMode",
    "CliAgent",
    "CliScaffold",
    "Trajectory",
    "get_agent",
    "parse_stream",
    "split_agent",
]
