"""Gemini CLI's ``--output-format stream-json`` events, and the older single-JSON output.

Stream events: ``init`` (session id, model), ``message`` (``role`` user or assistant;
assistant text arrives in ``delta`` chunks that are joined), ``tool_use`` (``tool_id``,
``tool_name``, ``parameters``), ``tool_result`` (``status``, ``output`` or ``error``),
``error``, and ``result`` (``stats`` with token counts). Releases before stream-json
printed one pretty-printed object ``{"response", "stats": {"models": ...}}`` with
``--output-format json``; that shape is parsed from the whole stdout.
"""

from __future__ import annotations

import json
from typing import Any

from posttrainbench.agents.parsers._builder import (
    HARNESS_STREAM,
    RawRecord,
    TraceBuilder,
    as_int,
    as_text,
)
from posttrainbench.agents.trace import Metrics, Step

__all__ = ["GeminiCliParser"]


class GeminiCliParser:
    """Stream parser of Gemini CLI."""

    def __init__(self) -> None:
        self._open: Step | None = None
        """The assistant step collecting message deltas, until a tool call or user turn."""

    def handle_text(self, builder: TraceBuilder, records: list[RawRecord]) -> bool:
        """The older ``--output-format json``: one object spread over many stdout lines."""
        stdout = [r for r in records if r.stream == "stdout"]
        if len(stdout) < 2 or stdout[0].line.strip() != "{":
            return False
        try:
            document = json.loads("\n".join(r.line for r in stdout))
        except json.JSONDecodeError:
            return False
        if not isinstance(document, dict) or "response" not in document:
            return False
        ts = stdout[-1].ts
        step = builder.agent_step(ts)
        builder.say(step, str(document.get("response") or ""))
        for name, stats in ((document.get("stats") or {}).get("models") or {}).items():
            tokens = stats.get("tokens") or {}
            builder.model = builder.model or name
            builder.session_totals.append(
                Metrics(
                    prompt_tokens=as_int(tokens.get("prompt")),
                    completion_tokens=as_int(tokens.get("candidates"))
                    + as_int(tokens.get("thoughts")),
                    cached_tokens=as_int(tokens.get("cached")),
                )
            )
        if document.get("error"):
            builder.step(ts, "system", as_text(document["error"]), extra={"kind": "error"})
        for record in records:
            if record.stream == HARNESS_STREAM:
                builder.harness_event(record.ts, json.loads(record.line))
            elif record.stream != "stdout" and record.line.strip():
                builder.logs.append({"ts": record.ts, "stream": record.stream, "line": record.line})
        return True

    def handle(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> bool:
        """Add one event."""
        kind = event.get("type")
        ts = ts or event.get("timestamp")
        if kind == "init":
            builder.session_id = str(event.get("session_id", ""))
            builder.model = event.get("model") or builder.model
            builder.step(ts, "system", "session started", extra={"kind": "init", "event": event})
        elif kind == "message":
            self._message(builder, ts, event)
        elif kind == "tool_use":
            step = self._open or builder.agent_step(ts)
            builder.call(
                step,
                str(event.get("tool_id")),
                str(event.get("tool_name")),
                event.get("parameters") or {},
            )
            self._open = None
        elif kind == "tool_result":
            error = event.get("error")
            content = event.get("output")
            if content is None and error is not None:
                content = error.get("message") if isinstance(error, dict) else error
            builder.observe(
                ts, str(event.get("tool_id")), as_text(content), status=event.get("status")
            )
        elif kind == "error":
            builder.step(
                ts, "system", str(event.get("message", "")), extra={"kind": "error", "event": event}
            )
        elif kind == "result":
            self._result(builder, ts, event)
        else:
            return False
        return True

    def _message(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> None:
        text = as_text(event.get("content"))
        if event.get("role") == "user":
            self._open = None
            builder.step(ts, "user", text)
            return
        if self._open is None:
            self._open = builder.agent_step(ts)
        step = self._open
        # Deltas are fragments of one reply: join them without separators.
        step.message = (
            step.message + text if event.get("delta") else (step.message + "\n\n" + text).strip()
        )

    def _result(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> None:
        stats = event.get("stats") or {}
        prompt = as_int(stats.get("input_tokens", stats.get("input")))
        builder.session_totals.append(
            Metrics(
                prompt_tokens=prompt,
                completion_tokens=as_int(stats.get("output_tokens")),
                cached_tokens=as_int(stats.get("cached")),
            )
        )
        self._open = None
        builder.step(
            ts, "system", str(event.get("status", "")), extra={"kind": "result", "stats": stats}
        )
