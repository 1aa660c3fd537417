"""Judge client throughput: how many judge calls per second the harness can drive.

Run: /work/venv/bin/python benchmarks/judge_throughput.py [--calls 2000] [--latency 0.05]

Sends ``--calls`` verdict requests through :class:`OpenAIJudge` to the fake
OpenAI-compatible server on loopback, which answers each after ``--latency`` seconds (a
stand-in for the real judge's latency), at several concurrency settings. HealthBench
Easy needs about 245 x 12 grader calls per evaluation, Arena-Hard writing 500: with a
real judge the figure is bounded by its latency and rate limits; this shows the client's
own overhead and that concurrency scales as configured.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from posttrainbench.benchmarks.arenahardwriting import parse_verdict
from posttrainbench.judge import JudgeSettings, OpenAIJudge
from posttrainbench.testing import FakeOpenAIServer


async def drive(judge: OpenAIJudge, calls: int) -> None:
    messages = [{"role": "user", "content": "Compare A and B."}]
    await asyncio.gather(*(judge.ask(messages, parse_verdict) for _ in range(calls)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    with FakeOpenAIServer(lambda _r: "Reasoning... [[A>B]]", delay_s=args.latency) as server:
        for concurrency in (1, 16, 64):
            calls = min(args.calls, 100) if concurrency == 1 else args.calls
            settings = JudgeSettings(base_url=server.base_url, concurrency=concurrency)
            judge = OpenAIJudge(settings, "key")
            start = time.perf_counter()
            asyncio.run(drive(judge, calls))
            elapsed = time.perf_counter() - start
            print(
                f"concurrency {concurrency:3d}: {calls} calls in {elapsed:6.2f} s = "
                f"{calls / elapsed:7.1f} calls/s (latency floor {concurrency / args.latency:.0f}/s)"
            )


if __name__ == "__main__":
    main()
