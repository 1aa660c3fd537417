"""The fake OpenAI-compatible server: scripted replies, recorded requests, errors, auth."""

from __future__ import annotations

import openai
import pytest

from posttrainbench.testing import FakeError, FakeOpenAIServer, FakeRequest


def chat(server: FakeOpenAIServer, text: str, key: str = "k") -> str | None:
    client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    reply = client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": text}], temperature=0
    )
    return reply.choices[0].message.content


def test_queue_replies_in_order_then_fails() -> None:
    with FakeOpenAIServer(["one", FakeError(503, "busy")]) as server:
        assert chat(server, "a") == "one"
        with pytest.raises(openai.InternalServerError, match="busy"):
            chat(server, "b")
        server.enqueue("two")
        assert chat(server, "c") == "two"
        with pytest.raises(openai.InternalServerError, match="used up"):
            chat(server, "d")
        bodies = [r.body for r in server.chat_requests]
    assert [b["messages"][0]["content"] for b in bodies] == ["a", "b", "c", "d"]
    assert bodies[0]["temperature"] == 0


def test_callable_sees_each_request_and_default_echoes() -> None:
    def shout(request: FakeRequest) -> str:
        return request.last_user_text.upper()

    with FakeOpenAIServer(shout) as server:
        assert chat(server, "hi") == "HI"
    with FakeOpenAIServer() as server:
        assert chat(server, "same") == "same"
        assert server.port > 0 and server.base_url.startswith("http://127.0.0.1:")


def test_api_key_and_model_list() -> None:
    with FakeOpenAIServer(models=["a", "b"], api_key="right") as server:
        with pytest.raises(openai.AuthenticationError):
            chat(server, "x", key="wrong")
        client = openai.OpenAI(base_url=server.base_url, api_key="right")
        assert [m.id for m in client.models.list()] == ["a", "b"]
        assert server.requests[0].headers["authorization"] == "Bearer wrong"
