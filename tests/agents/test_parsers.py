"""Golden-file tests of the stream parsers (PTB_REGENERATE_GOLDENS=1 rewrites the goldens)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from posttrainbench.agents import parse_stream
from posttrainbench.agents.parsers import HARNESS_STREAM, RawRecord
from posttrainbench.agents.trace import Trajectory

from .streams import STREAMS

GOLDENS = Path(__file__).parent / "goldens"


def records(name: str) -> list[RawRecord]:
    lines = [line.replace("${PLANTED}", "[REDACTED]") for line in STREAMS[name]]
    out = [
        RawRecord(f"2026-01-01T00:00:{i:02d}+00:00", "stdout", line) for i, line in enumerate(lines)
    ]
    out.insert(1, RawRecord("2026-01-01T00:00:00.5+00:00", "stderr", "warning: something"))
    resume = {"kind": "resume", "resume": 1, "session_id": "s", "message": "Time remains."}
    out.append(RawRecord("2026-01-01T00:01:00+00:00", HARNESS_STREAM, json.dumps(resume)))
    return out


def parse(name: str) -> Trajectory:
    stream_format = name.removesuffix("-legacy")
    return parse_stream(records(name), stream_format, stream_format)


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_parser_matches_golden(name: str) -> None:
    trace = parse(name)
    text = trace.model_dump_json(indent=2, exclude_none=True) + "\n"
    golden = GOLDENS / f"{name}.json"
    if os.environ.get("PTB_REGENERATE_GOLDENS") == "1":
        golden.write_text(text)
    assert golden.exists(), f"no golden for {name}: run with PTB_REGENERATE_GOLDENS=1"
    assert text == golden.read_text()
    # The golden is a valid trace (ATIF-shaped) and reads back unchanged.
    assert Trajectory.model_validate_json(golden.read_text()) == Trajectory.model_validate_json(
        text
    )


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_nothing_is_dropped(name: str) -> None:
    trace = parse(name)
    logs = (trace.extra or {}).get("logs", [])
    assert any(entry["line"] == "warning: something" for entry in logs)
    resumes = [s for s in trace.steps if (s.extra or {}).get("kind") == "resume"]
    assert len(resumes) == 1 and trace.final_metrics.extra
    assert trace.final_metrics.extra["resumes"] == 1
    if not name.endswith("-legacy"):
        unknown = [s for s in trace.steps if (s.extra or {}).get("kind") == "unknown_event"]
        assert unknown, "the stream's unknown event must be kept"
    assert [s.step_id for s in trace.steps] == list(range(1, len(trace.steps) + 1))


def test_claude_code_counts_a_message_once_and_takes_the_reported_cost() -> None:
    trace = parse("claude-code")
    calls = trace.tool_calls()
    assert [c.function_name for c in calls] == ["Bash", "Bash"]
    assert calls[0].arguments["command"] == "bash task/timer.sh"
    first = next(s for s in trace.steps if s.tool_calls)
    # Thinking and the tool call of message msg_1 are one step, its usage counted once.
    assert first.reasoning_content == "Check the time first."
    assert first.metrics and first.metrics.prompt_tokens == 1210
    assert first.metrics.cached_tokens == 1000
    assert first.observation and first.observation.results[0].content == "Remaining time: 0:05"
    metrics = trace.final_metrics
    assert metrics.total_cost_usd == pytest.approx(0.0133)
    assert metrics.extra and metrics.extra["cost_source"] == "stream"
    assert metrics.total_prompt_tokens == 1220 and metrics.total_completion_tokens == 80
    assert trace.session_id == "sess-claude-1" and trace.agent.version == "2.1.328"


def test_codex_new_and_old_shapes() -> None:
    trace = parse("codex")
    names = [c.function_name for c in trace.tool_calls()]
    assert names == ["command_execution", "file_change", "command_execution"]
    assert trace.tool_calls()[0].arguments["command"] == "bash -lc 'bash task/timer.sh'"
    results = [r for s in trace.steps if s.observation for r in s.observation.results]
    assert results[0].extra == {"exit_code": 0, "status": "completed"}
    assert results[-1].content == "final_model\n"
    assert trace.final_metrics.total_prompt_tokens == 1050
    assert trace.final_metrics.total_cached_tokens == 400
    # gpt-5 (from the legacy session line) is in the price table: cost is computed.
    assert trace.final_metrics.extra and trace.final_metrics.extra["cost_source"] == "price_table"
    assert trace.final_metrics.total_cost_usd is not None and trace.final_metrics.total_cost_usd > 0


def test_gemini_joins_deltas_and_keeps_errors() -> None:
    trace = parse("gemini-cli")
    agent = [s for s in trace.steps if s.source == "agent"]
    assert agent[0].message == "Checking time."
    assert [c.function_name for c in trace.tool_calls()] == ["run_shell_command", "write_file"]
    results = [r for s in trace.steps if s.observation for r in s.observation.results]
    assert results[1].content == "denied" and results[1].extra == {"status": "error"}
    assert trace.final_metrics.total_prompt_tokens == 1200


def test_gemini_legacy_single_json() -> None:
    trace = parse("gemini-cli-legacy")
    assert trace.steps[0].message.startswith("I trained it.")
    assert trace.final_metrics.total_prompt_tokens == 900
    assert trace.final_metrics.total_completion_tokens == 120


def test_opencode_tokens_and_cost() -> None:
    trace = parse("opencode")
    step = next(s for s in trace.steps if s.tool_calls)
    assert step.message == "Checking the time." and step.reasoning_content == "Need the timer."
    assert step.metrics and step.metrics.prompt_tokens == 1000 and step.metrics.cost_usd == 0.004
    assert trace.final_metrics.total_cost_usd == pytest.approx(0.004)
    assert trace.session_id == "ses_1"
