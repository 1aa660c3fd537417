"""Agents without an event stream (``noop``, ``reference``, ``command``): lines as logs."""

from __future__ import annotations

from typing import Any

from posttrainbench.agents.parsers._builder import RawRecord, TraceBuilder

__all__ = ["PlainParser"]


class PlainParser:
    """Understands no events: every line is kept in the trace's logs, JSON ones as events."""

    def handle_text(self, builder: TraceBuilder, records: list[RawRecord]) -> bool:
        """Nothing to parse as a whole."""
        return False

    def handle(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> bool:
        """No event is understood."""
        return False
