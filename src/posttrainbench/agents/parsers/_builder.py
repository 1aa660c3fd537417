"""Shared machinery of the stream parsers: raw records in, a ``Trajectory`` out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from posttrainbench.agents.pricing import cost_usd
from posttrainbench.agents.trace import (
    AgentInfo,
    FinalMetrics,
    Metrics,
    Observation,
    ObservationResult,
    Step,
    ToolCall,
    Trajectory,
)

__all__ = [
    "HARNESS_STREAM",
    "RawRecord",
    "StreamParser",
    "TraceBuilder",
    "as_dict",
    "as_int",
    "as_text",
    "parse_records",
    "read_raw",
]

HARNESS_STREAM = "harness"
"""``stream`` of records the harness itself appends to raw.jsonl (resume markers)."""


@dataclass(frozen=True)
class RawRecord:
    """One line of ``agent/raw.jsonl``."""

    ts: str | None
    stream: str
    line: str


def read_raw(path: Path) -> Iterator[RawRecord]:
    """The records of a raw stream file; a torn or foreign line becomes a plain stdout line."""
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for text in handle:
            text = text.rstrip("\n")
            if not text:
                continue
            try:
                record = json.loads(text)
                yield RawRecord(record.get("ts"), str(record["stream"]), str(record["line"]))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                yield RawRecord(None, "stdout", text)


def as_dict(value: object) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_int(value: object) -> int:
    """A token count from a stream (missing or malformed counts as 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_text(value: object) -> str:
    """Text of a tool result, which streams give as a string, a list of blocks, or JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                parts.append(item["text"])
            else:
                parts.append(as_text(item))
        return "\n".join(parts)
    return json.dumps(value, ensure_ascii=False)


class StreamParser(Protocol):
    """Handles the JSON events of one CLI's stream format."""

    def handle(self, builder: TraceBuilder, ts: str | None, event: dict[str, Any]) -> bool:
        """Add ``event`` to the trace; False when the event is not understood."""
        ...

    def handle_text(self, builder: TraceBuilder, records: list[RawRecord]) -> bool:
        """Parse output that is not one event per line (e.g. one pretty-printed JSON)."""
        ...


class TraceBuilder:
    """Accumulates steps, tool results and usage while a stream is read."""

    def __init__(self, agent: str, model: str | None = None) -> None:
        self.agent = agent
        self.model = model
        self.version = "unknown"
        self.session_id = ""
        self.steps: list[Step] = []
        self.logs: list[dict[str, Any]] = []
        self.reported_costs: list[float] = []
        """Costs the stream reported (one per session or per step), summed at the end."""
        self.session_totals: list[Metrics] = []
        """Per-session usage totals when the stream reports them (they beat step sums)."""
        self.resumes = 0
        self._by_call: dict[str, Step] = {}
        self._by_key: dict[str, Step] = {}

    # -- steps ------------------------------------------------------------------------------

    def step(self, ts: str | None, source: str, message: str = "", **fields: Any) -> Step:
        """Append a new step."""
        step = Step(
            step_id=len(self.steps) + 1,
            timestamp=ts,
            source=source,  # type: ignore[arg-type]
            message=message,
            **fields,
        )
        self.steps.append(step)
        return step

    def agent_step(self, ts: str | None, key: str | None = None) -> Step:
        """The agent step for ``key`` (one LLM response), created on first use."""
        if key is not None and key in self._by_key:
            return self._by_key[key]
        step = self.step(ts, "agent", model_name=self.model)
        if key is not None:
            self._by_key[key] = step
        return step

    def has_step(self, key: str) -> bool:
        """Whether an agent step for ``key`` exists."""
        return key in self._by_key

    def last_agent_step(self, ts: str | None) -> Step:
        """The latest agent step, or a new one."""
        for step in reversed(self.steps):
            if step.source == "agent":
                return step
        return self.agent_step(ts)

    def say(self, step: Step, text: str) -> None:
        """Append visible assistant text to ``step``."""
        if text:
            step.message = f"{step.message}\n\n{text}" if step.message else text

    def think(self, step: Step, text: str) -> None:
        """Append reasoning text to ``step``."""
        if text:
            old = step.reasoning_content
            step.reasoning_content = f"{old}\n\n{text}" if old else text

    def call(self, step: Step, call_id: str, name: str, arguments: object) -> None:
        """Record a tool call made in ``step``."""
        if call_id in self._by_call:
            return
        args = arguments if isinstance(arguments, dict) else {"input": arguments}
        step.tool_calls = [
            *(step.tool_calls or []),
            ToolCall(tool_call_id=call_id, function_name=name, arguments=args),
        ]
        self._by_call[call_id] = step

    def has_call(self, call_id: str) -> bool:
        """Whether ``call_id`` was recorded already."""
        return call_id in self._by_call

    def observe(self, ts: str | None, call_id: str | None, content: str, **extra: Any) -> None:
        """Attach a tool result to the step that made the call (or a system step)."""
        step = self._by_call.get(call_id or "")
        if step is None:
            step = self.step(ts, "system", extra={"kind": "tool_result"})
        result = ObservationResult(
            source_call_id=call_id,
            content=content,
            extra={k: v for k, v in extra.items() if v is not None} or None,
        )
        observation = step.observation or Observation()
        observation.results.append(result)
        step.observation = observation

    def usage(
        self,
        step: Step,
        prompt: int,
        completion: int,
        cached: int = 0,
        cost: float | None = None,
        **extra: Any,
    ) -> None:
        """Add token counts (and a reported cost) to ``step``'s metrics."""
        old = step.metrics or Metrics(prompt_tokens=0, completion_tokens=0, cached_tokens=0)
        merged_extra = {**(old.extra or {}), **{k: v for k, v in extra.items() if v}}
        step.metrics = Metrics(
            prompt_tokens=(old.prompt_tokens or 0) + prompt,
            completion_tokens=(old.completion_tokens or 0) + completion,
            cached_tokens=(old.cached_tokens or 0) + cached,
            cost_usd=(old.cost_usd or 0.0) + cost if cost is not None else old.cost_usd,
            extra=merged_extra or None,
        )

    def unknown(self, ts: str | None, event: dict[str, Any]) -> None:
        """Keep an event no parser understood."""
        self.step(ts, "system", extra={"kind": "unknown_event", "event": event})

    def harness_event(self, ts: str | None, event: dict[str, Any]) -> None:
        """A record the harness wrote (a resume of the session)."""
        if event.get("kind") == "resume":
            self.resumes += 1
        self.step(ts, "system", str(event.get("message", "")), extra=event)

    # -- result -------------------------------------------------------------------------------

    def build(self) -> Trajectory:
        """The finished trace with usage and cost totals."""
        return Trajectory(
            session_id=self.session_id,
            agent=AgentInfo(name=self.agent, version=self.version, model_name=self.model),
            steps=self.steps,
            final_metrics=self._totals(),
            extra={"logs": self.logs} if self.logs else None,
        )

    def _totals(self) -> FinalMetrics:
        metrics = self.session_totals or [s.metrics for s in self.steps if s.metrics]
        prompt = sum(m.prompt_tokens or 0 for m in metrics)
        completion = sum(m.completion_tokens or 0 for m in metrics)
        cached = sum(m.cached_tokens or 0 for m in metrics)
        extra: dict[str, Any] = {"resumes": self.resumes}
        cost: float | None
        if self.reported_costs:
            cost, extra["cost_source"] = sum(self.reported_costs), "stream"
        else:
            cost = cost_usd(self.model or "", prompt, cached, completion)
            extra["cost_source"] = "price_table" if cost is not None else "unknown"
        return FinalMetrics(
            total_prompt_tokens=prompt,
            total_completion_tokens=completion,
            total_cached_tokens=cached,
            total_cost_usd=cost,
            total_steps=len(self.steps),
            extra=extra,
        )


def parse_records(
    records: Iterable[RawRecord], parser: StreamParser, builder: TraceBuilder
) -> Trajectory:
    """Feed ``records`` through ``parser``; keep everything it does not understand."""
    records = list(records)
    if parser.handle_text(builder, records):
        return builder.build()
    for record in records:
        event = _json_object(record.line)
        if record.stream == HARNESS_STREAM and event is not None:
            builder.harness_event(record.ts, event)
        elif record.stream == "stdout" and event is not None:
            if not parser.handle(builder, record.ts, event):
                builder.unknown(record.ts, event)
        elif record.line.strip():
            builder.logs.append({"ts": record.ts, "stream": record.stream, "line": record.line})
    return builder.build()


def _json_object(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
