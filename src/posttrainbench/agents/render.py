"""A readable transcript of a normalised trace, for the terminal (rich)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from posttrainbench.agents.parsers.plain import LOG_STEP
from posttrainbench.agents.trace import Step, Trajectory

__all__ = ["render_step", "transcript"]

_COLORS = {"agent": "cyan", "user": "green", "system": "magenta"}


def _clip(text: str, limit: int) -> str:
    text = text.rstrip()
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters)"


def _log_line(step: Step, limit: int) -> RenderableType:
    """A line the agent printed (built-in agents): one compact row, not a panel."""
    stream = (step.extra or {}).get("stream", "")
    time = (step.timestamp or "")[11:19]
    head = Text(f"#{step.step_id:<4} {time} {stream:<6} │ ", style="dim")
    return head + Text(_clip(step.message, limit))


def render_step(step: Step, limit: int = 2000) -> RenderableType:
    """One step: a compact row for a printed line, else a panel."""
    return _step(step, limit)


def _step(step: Step, limit: int) -> RenderableType:
    if (step.extra or {}).get("kind") == LOG_STEP:
        return _log_line(step, limit)
    parts: list[RenderableType] = []
    if step.reasoning_content:
        parts.append(Text(_clip(step.reasoning_content, limit), style="dim italic"))
    if step.message:
        parts.append(Text(_clip(step.message, limit)))
    for call in step.tool_calls or ():
        arguments = call.arguments.get("command", call.arguments)
        shown = arguments if isinstance(arguments, str) else json.dumps(arguments)
        parts.append(
            Text.from_markup(f"[bold yellow]▶ {escape(call.function_name)}[/] ")
            + Text(_clip(shown, limit))
        )
    for result in step.observation.results if step.observation else ():
        parts.append(Text(_clip(result.content, limit) or "(no output)", style="dim"))
    kind = (step.extra or {}).get("kind")
    if kind == "unknown_event":
        parts.append(
            Text(_clip(json.dumps((step.extra or {}).get("event")), limit), style="dim red")
        )
    metrics = step.metrics
    title = f"[{_COLORS[step.source]}]#{step.step_id} {step.source}[/]" + (
        f" · {kind}" if kind else ""
    )
    subtitle = None
    if metrics and (metrics.prompt_tokens or metrics.completion_tokens):
        subtitle = f"in {metrics.prompt_tokens or 0:,} · out {metrics.completion_tokens or 0:,}"
    return Panel(
        Group(*parts) if parts else Text(""),
        title=title,
        title_align="left",
        subtitle=f"{(step.timestamp or '')[:19]}  {subtitle or ''}".strip(),
        subtitle_align="right",
        border_style=_COLORS[step.source],
    )


def transcript(trace: Trajectory, limit: int = 2000) -> Iterator[RenderableType]:
    """Panels, one per step, then a usage and cost summary."""
    agent = trace.agent
    yield Text.from_markup(
        f"[bold]{escape(agent.name)}[/] {escape(agent.version)}"
        f" · model {escape(agent.model_name or 'not reported')}"
        f" · session {escape(trace.session_id or 'none')}"
    )
    for step in trace.steps:
        yield _step(step, limit)
    totals = trace.final_metrics
    extra = totals.extra or {}
    cost = "unknown" if totals.total_cost_usd is None else f"${totals.total_cost_usd:.4f}"
    yield Text.from_markup(
        f"[bold]{totals.total_steps} steps[/] · {len(trace.tool_calls())} tool calls · "
        f"tokens in {totals.total_prompt_tokens:,} (cached {totals.total_cached_tokens:,}) "
        f"out {totals.total_completion_tokens:,} · cost {cost} ({extra.get('cost_source', '?')})"
        f" · resumes {extra.get('resumes', 0)}"
    )
    logs = (trace.extra or {}).get("logs") or []
    if logs:
        yield Text(
            f"{len(logs)} log lines (stderr, plain text) in the trace's extra.logs", style="dim"
        )
