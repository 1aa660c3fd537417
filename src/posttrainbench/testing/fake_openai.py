"""A fake OpenAI-compatible chat server on loopback, for tests of model and judge clients.

It speaks just enough of the OpenAI REST API for inspect-ai's ``openai-api`` provider, the
``openai`` SDK and a vLLM health check: ``GET /health``, ``GET /v1/models`` and
``POST /v1/chat/completions`` (non-streaming). Replies are scripted, either by a callable
that sees each request or by a queue of fixed replies, and every request is recorded::

    with FakeOpenAIServer(["[[A>B]]", FakeError(500, "overloaded")]) as server:
        client = OpenAI(base_url=server.base_url, api_key="x")
        ...
        assert server.requests[0].body["model"] == "fake-model"

The server runs in a daemon thread on ``127.0.0.1`` and an ephemeral port by default.
``python -m posttrainbench.testing.fake_openai --port N`` serves it in the foreground
(used by the fake ``vllm`` executable in the tests).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from posttrainbench.testing._http import JsonHandler, ThreadedServer

__all__ = ["FakeError", "FakeOpenAIServer", "FakeRequest", "Reply", "Responder", "main"]


@dataclass(frozen=True)
class FakeError:
    """A scripted failure: the server answers with this HTTP status and message."""

    status: int
    message: str = "scripted failure"


Reply = str | FakeError
"""What a scripted step produces: the assistant's text, or an HTTP error."""


@dataclass(frozen=True)
class FakeRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a chat-completions request (empty otherwise)."""
        messages = self.body.get("messages")
        return list(messages) if isinstance(messages, list) else []

    @property
    def last_user_text(self) -> str:
        """Text of the last user message, or ``""``."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, str):
                    return content
                if isinstance(content, list):
                    return "".join(
                        part.get("text", "") for part in content if isinstance(part, dict)
                    )
        return ""


Responder = Callable[[FakeRequest], Reply]
"""A callable that scripts the reply to each chat-completions request."""


def _echo(request: FakeRequest) -> Reply:
    return request.last_user_text


class FakeOpenAIServer(ThreadedServer):
    """A scripted OpenAI-compatible server, run in a thread on loopback.

    Args:
        script: A callable mapping each chat request to a reply, or an iterable of replies
            served in order (once it is used up, requests get HTTP 500). None echoes the
            last user message.
        models: Model ids listed by ``/v1/models`` (any model name is accepted in requests).
        api_key: When set, requests without ``Authorization: Bearer <api_key>`` get 401.
        host: Interface to bind (keep loopback).
        port: Port to bind; 0 picks a free one.
        delay_s: Seconds to wait before answering each chat request.
    """

    def __init__(
        self,
        script: Responder | Iterable[Reply] | None = None,
        *,
        models: Sequence[str] = ("fake-model",),
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_s: float = 0.0,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Reply] | None = None
        if script is None:
            self._responder: Responder = _echo
        elif callable(script):
            self._responder = script
        else:
            self._queue = deque(script)
            self._responder = self._next_queued
        self.models = list(models)
        self.api_key = api_key
        self.delay_s = delay_s
        self._requests: list[FakeRequest] = []
        super().__init__(_handler_for(self), host=host, port=port, thread_name="fake-openai")

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[FakeRequest]:
        """A copy of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[FakeRequest]:
        """The chat-completions requests received so far."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def enqueue(self, *replies: Reply) -> None:
        """Append replies to the queue (only for a server scripted by a queue)."""
        if self._queue is None:
            raise TypeError("this server is scripted by a callable, not a queue")
        with self._lock:
            self._queue.extend(replies)

    def _next_queued(self, request: FakeRequest) -> Reply:
        assert self._queue is not None
        with self._lock:
            if not self._queue:
                return FakeError(500, "fake server: scripted replies used up")
            return self._queue.popleft()

    def _record(self, request: FakeRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _reply_to(self, request: FakeRequest) -> tuple[int, dict[str, Any]]:
        if self.delay_s:
            time.sleep(self.delay_s)
        reply = self._responder(request)
        if isinstance(reply, FakeError):
            return reply.status, _error_body(reply.message, reply.status)
        return 200, _completion_body(request, reply)


def _error_body(message: str, status: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": "fake_error", "code": status}}


def _completion_body(request: FakeRequest, text: str) -> dict[str, Any]:
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.messages)
    completion_tokens = len(text.split())
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(request.body.get("model", "fake-model")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _headers(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    return {name.lower(): value for name, value in handler.headers.items()}


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def _authorised(self) -> bool:
            if server.api_key is None:
                return True
            return self.headers.get("Authorization") == f"Bearer {server.api_key}"

        def do_GET(self) -> None:
            server._record(FakeRequest("GET", self.path, _headers(self)))
            if self.path == "/health":
                self.send_json(200, {})
            elif not self._authorised():
                self.send_json(401, _error_body("invalid api key", 401))
            elif self.path.rstrip("/") == "/v1/models":
                data = [{"id": m, "object": "model", "owned_by": "fake"} for m in server.models]
                self.send_json(200, {"object": "list", "data": data})
            else:
                self.send_json(404, _error_body(f"no route {self.path}", 404))

        def do_POST(self) -> None:
            raw = self.read_body()
            try:
                body = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                self.send_json(400, _error_body("body is not JSON", 400))
                return
            request = FakeRequest("POST", self.path, _headers(self), body)
            server._record(request)
            if not self._authorised():
                self.send_json(401, _error_body("invalid api key", 401))
            elif self.path.rstrip("/") != "/v1/chat/completions":
                self.send_json(404, _error_body(f"no route {self.path}", 404))
            elif body.get("stream"):
                self.send_json(400, _error_body("the fake server does not stream", 400))
            else:
                self.send_json(*server._reply_to(request))

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Serve a fake endpoint in the foreground (``--port``, ``--model``, ``--reply``)."""
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server (tests only).")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--reply", default=None, help="fixed reply text; default: echo")
    args = parser.parse_args(argv)
    reply: str | None = args.reply
    script: Responder | None = None if reply is None else (lambda _request: reply)
    server = FakeOpenAIServer(script, models=args.model or ["fake-model"], port=args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
