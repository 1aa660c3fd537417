"""Parsers from each scaffold's raw stream (``agent/raw.jsonl``) to the normalised trace."""

from __future__ import annotations

from pathlib import Path

from posttrainbench.agents.parsers._builder import (
    HARNESS_STREAM,
    RawRecord,
    StreamParser,
    TraceBuilder,
    parse_records,
    read_raw,
)
from posttrainbench.agents.trace import Trajectory

__all__ = ["HARNESS_STREAM", "STREAM_FORMATS", "RawRecord", "parse_stream", "parser_for"]

STREAM_FORMATS = ("claude-code", "codex", "gemini-cli", "opencode", "plain")
"""Known stream formats (a scaffold declares which one its CLI prints)."""


def parser_for(stream_format: str) -> StreamParser:
    """A fresh parser of ``stream_format``."""
    from posttrainbench.agents.parsers.claude_code import ClaudeCodeParser
    from posttrainbench.agents.parsers.codex import CodexParser
    from posttrainbench.agents.parsers.gemini_cli import GeminiCliParser
    from posttrainbench.agents.parsers.opencode import OpenCodeParser
    from posttrainbench.agents.parsers.plain import PlainParser

    parsers: dict[str, type[StreamParser]] = {
        "claude-code": ClaudeCodeParser,
        "codex": CodexParser,
        "gemini-cli": GeminiCliParser,
        "opencode": OpenCodeParser,
        "plain": PlainParser,
    }
    if stream_format not in parsers:
        raise ValueError(f"unknown stream format {stream_format!r}")
    return parsers[stream_format]()


def parse_stream(
    raw: Path | list[RawRecord], stream_format: str, agent: str, model: str | None = None
) -> Trajectory:
    """Parse a raw stream file (or its records) into the normalised trace."""
    records = list(read_raw(raw)) if isinstance(raw, Path) else raw
    return parse_records(records, parser_for(stream_format), TraceBuilder(agent, model))
