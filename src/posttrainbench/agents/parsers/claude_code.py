"""Claude Code's ``--output-format stream-json --verbose`` events.

Shapes handled: ``system`` (``init`` with session, model, version; ``compact_boundary``
and other subtypes), ``assistant`` messages whose content blocks (``text``, ``thinking``,
``redacted_thinking``, ``tool_use``) arrive one event per block under the same message id,
``user`` messages carrying ``tool_result`` blocks (or a plain prompt), and ``result``
with session usage and cost (``total_cost_usd``; older releases wrote ``cost_usd``).
"""

from __future__ import annotations

from typing import Any

from posttrainbench.agents.parsers._builder import RawRecord, TraceBuilder, as_int, as_text
from posttrainbench.agents.trace import Metrics

__all__ = ["ClaudeCodeParser"]


class ClaudeCodeParser:
    """Stream parser of Claude Code."""

    def handle_text(self, builder: TraceBuilder, records: list[RawRecord]) -> bool:
        """Claude Code always writes one event per line."""
        return False

    def handle(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> bool:
        """Add one event."""
        kind = event.get("type")
        if isinstance(event.get("session_id"), str):
            builder.session_id = event["session_id"]
        if kind == "system":
            return self._system(builder, ts, event)
        if kind == "assistant" and isinstance(event.get("message"), dict):
            self._assistant(builder, ts, event["message"])
            return True
        if kind == "user" and isinstance(event.get("message"), dict):
            self._user(builder, ts, event["message"])
            return True
        if kind == "result":
            self._result(builder, ts, event)
            return True
        return False

    def _system(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> bool:
        subtype = event.get("subtype")
        if subtype == "init":
            builder.model = event.get("model") or builder.model
            builder.version = str(event.get("claude_code_version") or builder.version)
            tools = event.get("tools") or []
            builder.step(
                ts,
                "system",
                f"session started ({len(tools)} tools)",
                extra={"kind": "init", "event": event},
            )
            return True
        if isinstance(subtype, str):
            builder.step(ts, "system", subtype, extra={"kind": subtype, "event": event})
            return True
        return False

    def _assistant(self, builder: TraceBuilder, ts: str | None, message: dict[str, Any]) -> None:
        key = message.get("id")
        new = key is None or not _seen(builder, key)
        step = builder.agent_step(ts, key if isinstance(key, str) else None)
        if isinstance(message.get("model"), str):
            step.model_name = message["model"]
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                builder.say(step, str(block.get("text", "")))
            elif kind == "thinking":
                builder.think(step, str(block.get("thinking", "")))
            elif kind == "redacted_thinking":
                builder.think(step, "[redacted thinking]")
            elif kind in {"tool_use", "server_tool_use"}:
                builder.call(step, str(block.get("id")), str(block.get("name")), block.get("input"))
            else:
                step.extra = {
                    **(step.extra or {}),
                    "other_blocks": [*(step.extra or {}).get("other_blocks", []), block],
                }
        usage = message.get("usage")
        if new and isinstance(usage, dict):
            # Every block of a message repeats its usage: count it once per message id.
            cache_write = as_int(usage.get("cache_creation_input_tokens"))
            cache_read = as_int(usage.get("cache_read_input_tokens"))
            builder.usage(
                step,
                as_int(usage.get("input_tokens")) + cache_write + cache_read,
                as_int(usage.get("output_tokens")),
                cache_read,
                cache_creation_input_tokens=cache_write,
            )

    def _user(self, builder: TraceBuilder, ts: str | None, message: dict[str, Any]) -> None:
        content = message.get("content")
        if isinstance(content, str):
            builder.step(ts, "user", content)
            return
        texts = []
        for block in content or []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                builder.observe(
                    ts,
                    str(block.get("tool_use_id")),
                    as_text(block.get("content")),
                    is_error=bool(block.get("is_error")) or None,
                )
            elif isinstance(block, dict) and block.get("type") == "text":
                texts.append(str(block.get("text", "")))
        if texts:
            builder.step(ts, "user", "\n".join(texts))

    def _result(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> None:
        cost = event.get("total_cost_usd", event.get("cost_usd"))
        if isinstance(cost, int | float):
            builder.reported_costs.append(float(cost))
        usage = event.get("usage")
        if isinstance(usage, dict):
            cache_write = as_int(usage.get("cache_creation_input_tokens"))
            cache_read = as_int(usage.get("cache_read_input_tokens"))
            builder.session_totals.append(
                Metrics(
                    prompt_tokens=as_int(usage.get("input_tokens")) + cache_write + cache_read,
                    completion_tokens=as_int(usage.get("output_tokens")),
                    cached_tokens=cache_read,
                )
            )
        summary = {
            k: event.get(k)
            for k in ("subtype", "is_error", "num_turns", "duration_ms")
            if k in event
        }
        builder.step(
            ts, "system", str(event.get("result") or ""), extra={"kind": "result", **summary}
        )


def _seen(builder: TraceBuilder, key: object) -> bool:
    return isinstance(key, str) and builder.has_step(key)
