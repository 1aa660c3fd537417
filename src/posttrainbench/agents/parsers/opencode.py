"""OpenCode's ``opencode run --format json`` events.

Each line is ``{"type", "timestamp", "sessionID", "part"}``: ``step_start`` opens one LLM
call, ``text`` and ``reasoning`` parts carry its output, ``tool_use`` a finished tool call
(``part.callID``, ``part.tool``, ``part.state`` with ``input``, ``output``, ``status``),
``step_finish`` closes the call with ``tokens`` (input, output, reasoning, cache read and
write) and ``cost`` in USD; ``error`` reports a failure.
"""

from __future__ import annotations

from typing import Any

from posttrainbench.agents.parsers._builder import (
    RawRecord,
    TraceBuilder,
    as_dict,
    as_int,
    as_text,
)
from posttrainbench.agents.trace import Step

__all__ = ["OpenCodeParser"]


class OpenCodeParser:
    """Stream parser of OpenCode."""

    def __init__(self) -> None:
        self._step: Step | None = None

    def handle_text(self, builder: TraceBuilder, records: list[RawRecord]) -> bool:
        """OpenCode always writes one event per line."""
        return False

    def handle(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> bool:
        """Add one event."""
        kind = event.get("type")
        part = as_dict(event.get("part"))
        if isinstance(event.get("sessionID"), str):
            builder.session_id = event["sessionID"]
        if kind == "step_start":
            self._step = builder.agent_step(ts)
        elif kind == "text":
            builder.say(self._current(builder, ts), str(part.get("text", "")))
        elif kind == "reasoning":
            builder.think(self._current(builder, ts), str(part.get("text", "")))
        elif kind == "tool_use":
            self._tool(builder, ts, part)
        elif kind == "step_finish":
            self._finish(builder, ts, part)
        elif kind == "error":
            error = event.get("error")
            message = error.get("data", error) if isinstance(error, dict) else error
            builder.step(ts, "system", as_text(message), extra={"kind": "error", "event": event})
        else:
            return False
        return True

    def _current(self, builder: TraceBuilder, ts: str | None) -> Step:
        if self._step is None:
            self._step = builder.agent_step(ts)
        return self._step

    def _tool(self, builder: TraceBuilder, ts: str | None, part: dict[str, Any]) -> None:
        state = as_dict(part.get("state"))
        call_id = str(part.get("callID") or part.get("id"))
        builder.call(
            self._current(builder, ts), call_id, str(part.get("tool")), state.get("input") or {}
        )
        if state.get("status") in {"completed", "error"}:
            output = (
                state.get("output") if state.get("status") == "completed" else state.get("error")
            )
            metadata = as_dict(state.get("metadata"))
            builder.observe(
                ts,
                call_id,
                as_text(output),
                status=state.get("status"),
                exit_code=metadata.get("exit"),
            )

    def _finish(self, builder: TraceBuilder, ts: str | None, part: dict[str, Any]) -> None:
        step = self._current(builder, ts)
        tokens = as_dict(part.get("tokens"))
        cache = as_dict(tokens.get("cache"))
        cost = part.get("cost")
        cost = float(cost) if isinstance(cost, int | float) else None
        if cost is not None:
            builder.reported_costs.append(cost)
        read, write = as_int(cache.get("read")), as_int(cache.get("write"))
        builder.usage(
            step,
            as_int(tokens.get("input")) + read + write,
            as_int(tokens.get("output")) + as_int(tokens.get("reasoning")),
            read,
            cost,
            cache_write_tokens=write,
            reasoning_tokens=as_int(tokens.get("reasoning")),
        )
        self._step = None
