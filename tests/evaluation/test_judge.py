"""The OpenAI-compatible judge client: retries with backoff, failures surface, key checks."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from posttrainbench.errors import UserError
from posttrainbench.judge import JudgeError, JudgeSettings, OpenAIJudge
from posttrainbench.testing import FakeError, FakeOpenAIServer, FakeRequest


def make_judge(server: FakeOpenAIServer, waits: list[float], **settings: object) -> OpenAIJudge:
    async def record(seconds: float) -> None:
        waits.append(seconds)

    config = JudgeSettings(base_url=server.base_url, model="judge-x", **settings)  # type: ignore[arg-type]
    return OpenAIJudge(config, "secret", sleep=record)


def label(reply: str) -> str:
    if "[[" not in reply:
        raise ValueError("no label")
    return reply


def ask(judge: OpenAIJudge) -> str:
    return asyncio.run(judge.ask([{"role": "user", "content": "which?"}], label))


def test_transient_failures_are_retried_with_exponential_backoff() -> None:
    waits: list[float] = []
    script = [FakeError(500, "boom"), FakeError(429, "slow down"), "no verdict here", "[[A>B]]"]
    with FakeOpenAIServer(script, api_key="secret") as server:
        judge = make_judge(server, waits, backoff_s=1.0, max_attempts=5)
        assert ask(judge) == "[[A>B]]"
        body = server.chat_requests[0].body
    assert waits == [1.0, 2.0, 4.0]
    assert (judge.calls, judge.retries) == (4, 3)
    assert body["model"] == "judge-x" and body["reasoning_effort"] == "medium"


def test_exhausted_retries_raise_instead_of_scoring() -> None:
    waits: list[float] = []
    with FakeOpenAIServer(["still no label"] * 3) as server:
        judge = make_judge(server, waits, max_attempts=3, backoff_s=10, max_backoff_s=15)
        with pytest.raises(JudgeError, match="failed 3 times.*no label"):
            ask(judge)
    assert waits == [10, 15]  # capped


def test_a_refused_key_fails_at_once() -> None:
    with FakeOpenAIServer(["[[A>B]]"], api_key="another") as server:
        judge = make_judge(server, [])
        with pytest.raises(JudgeError, match="refused"):
            ask(judge)
        assert len(server.chat_requests) == 1


def test_concurrency_is_bounded() -> None:
    lock = threading.Lock()
    in_flight = peak = 0

    def slow(request: FakeRequest) -> str:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.1)
        with lock:
            in_flight -= 1
        return "[[A=B]]"

    with FakeOpenAIServer(slow) as server:
        judge = make_judge(server, [], concurrency=3)

        async def many() -> list[str]:
            return await asyncio.gather(
                *(judge.ask([{"role": "user", "content": str(i)}], label) for i in range(12))
            )

        assert asyncio.run(many()) == ["[[A=B]]"] * 12
    assert 2 <= peak <= 3


def test_settings_and_key_come_from_the_harness_environment() -> None:
    env = {
        "PTB_JUDGE_MODEL": "my-judge",
        "PTB_JUDGE_BASE_URL": "http://127.0.0.1:9/v1",
        "PTB_JUDGE_CONCURRENCY": "4",
        "PTB_JUDGE_REASONING_EFFORT": "",
        "OPENAI_API_KEY": "fallback",
    }
    settings = JudgeSettings.from_env(env)
    assert (settings.model, settings.concurrency, settings.reasoning_effort) == (
        "my-judge",
        4,
        None,
    )
    assert JudgeSettings.from_env({}).model == "gpt-5-mini"
    assert JudgeSettings().api_key(env) == "fallback"
    assert JudgeSettings().api_key({**env, "PTB_JUDGE_API_KEY": "preferred"}) == "preferred"
    with pytest.raises(UserError, match="PTB_JUDGE_API_KEY or OPENAI_API_KEY"):
        JudgeSettings().api_key({})
    with pytest.raises(UserError, match="PTB_JUDGE"):
        JudgeSettings.from_env({"PTB_JUDGE_CONCURRENCY": "0"})
