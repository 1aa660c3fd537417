"""The normalised agent trace: one shape for every scaffold, compatible with Harbor's ATIF.

A trace is a list of steps (``system``, ``user`` or ``agent``); an agent step carries the
assistant's message, its reasoning, the tool calls it made and the observations those
calls returned, with token and cost metrics. Events a parser does not understand are kept
as ``system`` steps whose ``extra.kind`` is ``"unknown_event"``; lines that are not events
(stderr, plain text) are kept in ``extra.logs``. Nothing the agent printed is dropped.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SCHEMA_VERSION",
    "AgentInfo",
    "FinalMetrics",
    "Metrics",
    "Observation",
    "ObservationResult",
    "Step",
    "ToolCall",
    "Trajectory",
]

SCHEMA_VERSION = "ATIF-v1.4"

_STRICT = ConfigDict(extra="forbid")


class ToolCall(BaseModel):
    """One tool invocation by the agent."""

    model_config = _STRICT

    tool_call_id: str
    """Identifier that observations refer to (``source_call_id``)."""
    function_name: str
    """Tool name as the scaffold calls it (``Bash``, ``command_execution``, ``bash``...)."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments of the call."""


class ObservationResult(BaseModel):
    """What one tool call (or system operation) returned."""

    model_config = _STRICT

    source_call_id: str | None = None
    """The ``tool_call_id`` this result answers; None for results of no call."""
    content: str = ""
    """The output, as text."""
    extra: dict[str, Any] | None = None
    """Scaffold-specific details (exit code, error flag, status)."""


class Observation(BaseModel):
    """Environment feedback after a step's actions."""

    model_config = _STRICT

    results: list[ObservationResult] = Field(default_factory=list)
    """One entry per tool result."""


class Metrics(BaseModel):
    """Token and cost figures of one LLM call (or of a whole trace in ``FinalMetrics``)."""

    model_config = _STRICT

    prompt_tokens: int | None = None
    """Input tokens, cached ones included."""
    completion_tokens: int | None = None
    """Output tokens, reasoning and tool calls included."""
    cached_tokens: int | None = None
    """The part of ``prompt_tokens`` served from a prompt cache."""
    cost_usd: float | None = None
    """Cost of the call in US dollars, when known."""
    extra: dict[str, Any] | None = None
    """Other provider figures (cache writes, reasoning tokens)."""


class Step(BaseModel):
    """One turn: a system event, a user message, or one agent response."""

    model_config = _STRICT

    step_id: int
    """Position in the trace, from 1."""
    timestamp: str | None = None
    """ISO 8601 time of the step (when the harness read it, or the CLI's own stamp)."""
    source: Literal["system", "user", "agent"]
    """Who produced the step."""
    model_name: str | None = None
    """Model of an agent step, when the stream names it."""
    reasoning_effort: str | float | None = None
    """Reasoning effort the agent ran with, when known."""
    message: str = ""
    """System text, user prompt, or the assistant's visible reply."""
    reasoning_content: str | None = None
    """The agent's reasoning or thinking, when the stream exposes it."""
    tool_calls: list[ToolCall] | None = None
    """Tools the agent invoked in this step."""
    observation: Observation | None = None
    """Results of this step's tool calls."""
    metrics: Metrics | None = None
    """Tokens and cost of this step's LLM call."""
    extra: dict[str, Any] | None = None
    """Scaffold details; ``kind`` marks harness steps (``resume``) and ``unknown_event``."""


class AgentInfo(BaseModel):
    """The scaffold that produced the trace."""

    model_config = _STRICT

    name: str
    """Scaffold name (``claude-code``, ``codex``...)."""
    version: str = "unknown"
    """CLI version, when the stream reports it."""
    model_name: str | None = None
    """Default model of the run."""
    extra: dict[str, Any] | None = None
    """Scaffold configuration details."""


class FinalMetrics(BaseModel):
    """Totals over the whole trace: the trial's usage and cost."""

    model_config = _STRICT

    total_prompt_tokens: int = 0
    """Input tokens over all calls, cached ones included."""
    total_completion_tokens: int = 0
    """Output tokens over all calls."""
    total_cached_tokens: int = 0
    """Cached input tokens over all calls."""
    total_cost_usd: float | None = None
    """Total cost in US dollars (None: not reported and the model has no price)."""
    total_steps: int = 0
    """Number of steps."""
    extra: dict[str, Any] | None = None
    """``cost_source`` (``stream`` | ``price_table``), ``resumes``, per-model usage."""


class Trajectory(BaseModel):
    """A whole agent run, parsed from ``agent/raw.jsonl``."""

    model_config = _STRICT

    schema_version: str = SCHEMA_VERSION
    """ATIF version this trace follows."""
    session_id: str = ""
    """The CLI's session id (the last one when the run was resumed)."""
    agent: AgentInfo
    """Which scaffold ran."""
    steps: list[Step] = Field(default_factory=list)
    """Every step, in order."""
    notes: str | None = None
    """Free-form remarks of the parser."""
    final_metrics: FinalMetrics = Field(default_factory=FinalMetrics)
    """Usage and cost totals."""
    extra: dict[str, Any] | None = None
    """``logs``: lines that were not events ({ts, stream, line})."""

    def tool_calls(self) -> list[ToolCall]:
        """Every tool call of the trace, in order."""
        return [call for step in self.steps for call in step.tool_calls or ()]
