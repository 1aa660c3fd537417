"""Trace parsing and redaction throughput: how fast a long agent stream becomes trace.json.

Run: /work/venv/bin/python benchmarks/trace_parse.py [--turns 20000]

Builds a Claude Code stream of ``--turns`` tool-using turns (assistant tool_use event,
user tool_result with ~1 KB of output, usage on every message), writes it as
agent/raw.jsonl records, and measures (CPU time of this process, one core):
parsing it into the normalised trace and writing trace.json with two secrets redacted;
and redacting raw lines as the sandbox's output recorder does while writing them.
A 10-hour agent run is typically 1-5 thousand turns.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from posttrainbench._redact import Redactor
from posttrainbench.agents.parsers import parse_stream
from posttrainbench.agents.scaffolds import claude_code
from posttrainbench.agents.session import write_trace


def stream(turns: int) -> list[str]:
    lines = [
        json.dumps(
            {"type": "system", "subtype": "init", "session_id": "s", "model": "claude-opus-4-6"}
        )
    ]
    output = ("epoch 1 loss 0.1234 step 100/1000 " * 30)[:1000]
    for turn in range(turns):
        usage = {"input_tokens": 5, "cache_read_input_tokens": 20000 + turn, "output_tokens": 80}
        call = {
            "type": "tool_use",
            "id": f"toolu_{turn}",
            "name": "Bash",
            "input": {"command": f"python train.py --step {turn}"},
        }
        message = {"id": f"msg_{turn}", "role": "assistant", "content": [call], "usage": usage}
        lines.append(json.dumps({"type": "assistant", "session_id": "s", "message": message}))
        result = {"type": "tool_result", "tool_use_id": f"toolu_{turn}", "content": output}
        lines.append(
            json.dumps(
                {
                    "type": "user",
                    "session_id": "s",
                    "message": {"role": "user", "content": [result]},
                }
            )
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=20000)
    args = parser.parse_args()
    lines = stream(args.turns)
    secrets = ["sk-ant-api03-" + "x" * 80, "sk-ant-oat01-" + "y" * 80]
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "raw.jsonl"
        with raw.open("w") as handle:
            for line in lines:
                handle.write(
                    json.dumps(
                        {"ts": "2026-01-01T00:00:00+00:00", "stream": "stdout", "line": line}
                    )
                    + "\n"
                )
        megabytes = raw.stat().st_size / 1e6

        start = time.process_time()
        trace = parse_stream(raw, "claude-code", "claude-code")
        parse_s = time.process_time() - start

        start = time.process_time()
        write_trace(claude_code(""), "claude-code", raw, Path(scratch) / "trace.json", secrets)
        write_s = time.process_time() - start

        redact = Redactor(secrets)
        start = time.process_time()
        for line in lines:
            redact(line)
        redact_s = time.process_time() - start

    totals = trace.final_metrics
    print(f"stream: {args.turns} turns, {len(lines)} events, {megabytes:.1f} MB raw.jsonl")
    print(
        f"parse to trace:            {parse_s:6.2f} s CPU  "
        f"({len(lines) / parse_s:,.0f} events/s, {megabytes / parse_s:.1f} MB/s)"
    )
    print(f"parse + redact + write:    {write_s:6.2f} s CPU  ({megabytes / write_s:.1f} MB/s)")
    print(f"redact lines as recorded:  {redact_s:6.2f} s CPU  ({megabytes / redact_s:.0f} MB/s)")
    print(
        f"trace: {len(trace.steps)} steps, {len(trace.tool_calls())} tool calls, "
        f"{totals.total_prompt_tokens:,} prompt tokens, cost ${totals.total_cost_usd or 0:.2f}"
    )


if __name__ == "__main__":
    main()
