"""Agents without an event stream (``noop``, ``reference``, ``command``): lines as steps."""

from __future__ import annotations

import json
from typing import Any

from posttrainbench import __version__
from posttrainbench.agents.parsers._builder import HARNESS_STREAM, RawRecord, TraceBuilder

__all__ = ["LOG_STEP", "PlainParser"]

LOG_STEP = "log"
"""``extra.kind`` of a step that is one line the agent printed."""


class PlainParser:
    """Every line the agent printed becomes one agent step, in order, with its timestamp.

    Built-in agents print progress lines (the reference recipe: step, loss, ETA), not
    events; as steps they show in ``ptb trace show`` and give exported trajectories their
    steps. The harness's own records (a resume) stay system steps.
    """

    def handle_text(self, builder: TraceBuilder, records: list[RawRecord]) -> bool:
        """Turn every record into a step."""
        builder.version = f"posttrainbench {__version__}"
        for record in records:
            if record.stream == HARNESS_STREAM:
                event = _json_object(record.line)
                if event is not None:
                    builder.harness_event(record.ts, event)
                    continue
            if record.line.strip():
                builder.step(
                    record.ts,
                    "agent",
                    record.line.rstrip(),
                    extra={"kind": LOG_STEP, "stream": record.stream},
                )
        return True

    def handle(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> bool:
        """No event is understood (``handle_text`` takes every line)."""
        return False


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
