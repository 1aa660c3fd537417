"""Codex CLI's ``codex exec --json`` events, in both shapes Codex has printed.

Newer releases (0.4x on): ``thread.started``, ``turn.started``/``turn.completed`` (with
usage)/``turn.failed``, and ``item.started``/``item.updated``/``item.completed`` whose
``item.type`` is ``agent_message``, ``reasoning``, ``command_execution``, ``file_change``,
``mcp_tool_call``, ``web_search``, ``todo_list`` or ``error``; plus top-level ``error``.
Older releases: ``{"id": ..., "msg": {"type": ...}}`` envelopes (``agent_message``,
``agent_reasoning``, ``exec_command_begin``/``exec_command_end``,
``patch_apply_begin``/``patch_apply_end``, ``token_count``, ``task_complete``,
``session_configured``), preceded by a config summary line and a ``{"prompt": ...}`` line.
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

__all__ = ["CodexParser"]

_TOOL_ITEMS = {"command_execution", "file_change", "mcp_tool_call", "web_search"}


class CodexParser:
    """Stream parser of Codex CLI."""

    def handle_text(self, builder: TraceBuilder, records: list[RawRecord]) -> bool:
        """Codex always writes one event per line."""
        return False

    def handle(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> bool:
        """Add one event."""
        kind = event.get("type")
        if kind == "thread.started":
            builder.session_id = str(event.get("thread_id", ""))
            builder.step(ts, "system", "session started", extra={"kind": "init", "event": event})
            return True
        if kind in {"turn.started"}:
            return True
        if kind == "turn.completed":
            usage = event.get("usage") or {}
            cached = as_int(usage.get("cached_input_tokens"))
            builder.usage(
                builder.last_agent_step(ts),
                as_int(usage.get("input_tokens")),
                as_int(usage.get("output_tokens")),
                cached,
            )
            return True
        if kind in {"turn.failed", "error"}:
            error = as_dict(event.get("error")) or event
            builder.step(
                ts, "system", str(error.get("message", "")), extra={"kind": "error", "event": event}
            )
            return True
        if (
            isinstance(kind, str)
            and kind.startswith("item.")
            and isinstance(event.get("item"), dict)
        ):
            return self._item(builder, ts, kind, event["item"])
        if isinstance(event.get("msg"), dict):
            return self._legacy(builder, ts, event["msg"])
        if "prompt" in event and len(event) == 1:
            builder.step(ts, "user", str(event["prompt"]))
            return True
        if "model" in event and "sandbox" in event:  # legacy config summary
            builder.model = str(event["model"])
            builder.step(ts, "system", "configuration", extra={"kind": "config", "event": event})
            return True
        return False

    def _item(self, builder: TraceBuilder, ts: str | None, kind: str, item: dict[str, Any]) -> bool:
        item_type = item.get("type") or item.get("item_type")
        item_id = str(item.get("id", ""))
        if item_type in _TOOL_ITEMS:
            if not builder.has_call(item_id):
                builder.call(builder.agent_step(ts), item_id, str(item_type), _arguments(item))
            if kind == "item.completed":
                builder.observe(
                    ts,
                    item_id,
                    _output(item),
                    exit_code=item.get("exit_code"),
                    status=item.get("status"),
                )
            return True
        if kind != "item.completed":
            return item_type in {"agent_message", "reasoning", "todo_list", "error"}
        if item_type in {"agent_message", "assistant_message"}:
            builder.say(builder.agent_step(ts), str(item.get("text", "")))
        elif item_type == "reasoning":
            builder.think(builder.agent_step(ts), str(item.get("text", "")))
        elif item_type == "todo_list":
            builder.step(ts, "system", as_text(item.get("items")), extra={"kind": "todo_list"})
        elif item_type == "error":
            builder.step(ts, "system", str(item.get("message", "")), extra={"kind": "error"})
        else:
            return False
        return True

    def _legacy(self, builder: TraceBuilder, ts: str | None, msg: dict[str, Any]) -> bool:
        kind = msg.get("type")
        if kind == "session_configured":
            builder.session_id = str(msg.get("session_id", ""))
            builder.model = str(msg.get("model") or builder.model or "") or None
        elif kind in {
            "task_started",
            "agent_message_delta",
            "agent_reasoning_delta",
            "exec_command_output_delta",
        }:
            pass
        elif kind == "agent_message":
            builder.say(builder.agent_step(ts), str(msg.get("message", "")))
        elif kind in {"agent_reasoning", "agent_reasoning_raw_content"}:
            builder.think(builder.agent_step(ts), str(msg.get("text", "")))
        elif kind == "exec_command_begin":
            builder.call(
                builder.agent_step(ts),
                str(msg.get("call_id")),
                "command_execution",
                {"command": msg.get("command"), "cwd": msg.get("cwd")},
            )
        elif kind == "exec_command_end":
            output = msg.get("aggregated_output")
            if output is None:
                output = "".join(str(msg.get(k) or "") for k in ("stdout", "stderr"))
            builder.observe(
                ts, str(msg.get("call_id")), str(output), exit_code=msg.get("exit_code")
            )
        elif kind == "patch_apply_begin":
            builder.call(
                builder.agent_step(ts),
                str(msg.get("call_id")),
                "file_change",
                {"changes": msg.get("changes")},
            )
        elif kind == "patch_apply_end":
            text = str(msg.get("stdout") or "") + str(msg.get("stderr") or "")
            builder.observe(ts, str(msg.get("call_id")), text, success=msg.get("success"))
        elif kind == "token_count":
            self._legacy_tokens(builder, ts, msg)
        elif kind == "task_complete":
            builder.step(
                ts, "system", str(msg.get("last_agent_message") or ""), extra={"kind": "result"}
            )
        elif kind == "error":
            builder.step(ts, "system", str(msg.get("message", "")), extra={"kind": "error"})
        else:
            return False
        return True

    def _legacy_tokens(self, builder: TraceBuilder, ts: str | None, msg: dict[str, Any]) -> None:
        info = msg.get("info")
        # 0.3x: cumulative totals under info.total_token_usage; earlier: per-turn counts.
        usage = info.get("last_token_usage") if isinstance(info, dict) else msg
        if not isinstance(usage, dict):
            return
        builder.usage(
            builder.last_agent_step(ts),
            as_int(usage.get("input_tokens")),
            as_int(usage.get("output_tokens")),
            as_int(usage.get("cached_input_tokens")),
            reasoning_tokens=as_int(usage.get("reasoning_output_tokens")),
        )


def _arguments(item: dict[str, Any]) -> dict[str, Any]:
    skip = {
        "id",
        "type",
        "item_type",
        "aggregated_output",
        "exit_code",
        "status",
        "result",
        "error",
    }
    return {key: value for key, value in item.items() if key not in skip}


def _output(item: dict[str, Any]) -> str:
    for key in ("aggregated_output", "result", "error"):
        if item.get(key) is not None:
            return as_text(item[key])
    if item.get("changes") is not None:
        return as_text(item["changes"])
    return ""
