"""A scripted model server on loopback that drives the real agent CLIs in tests.

It speaks three streaming APIs the CLIs use: Anthropic Messages (``POST /v1/messages``,
which Claude Code calls when ``ANTHROPIC_BASE_URL`` points here), OpenAI Responses
(``POST /v1/responses``, which Codex calls through a custom provider) and Gemini
(``POST /v1beta/models/M:streamGenerateContent``, which Gemini CLI calls when
``GOOGLE_GEMINI_BASE_URL`` points here). Each reply follows
a script of shell commands: the server counts the tool results already in the request's
conversation, answers with the next command as a call of the request's shell tool
(whatever its name and argument schema), and once the script is done, with a final text.
So the episode is stateless and robust to retries and to side requests (those without
tools get a short text). Every request body is kept in ``requests`` for assertions.

Example::

    with FakeAgentServer(["bash task/timer.sh", "cp -r /models/base final_model"]) as server:
        env["ANTHROPIC_BASE_URL"] = server.url          # Claude Code
        options = f"base_url={server.url}/v1"           # Codex
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

from posttrainbench.testing._http import JsonHandler, ThreadedServer

__all__ = ["FakeAgentServer"]

_SHELL_TOOLS = ("Bash", "exec_command", "shell_command", "shell", "run_shell_command", "bash")


class FakeAgentServer(ThreadedServer):
    """Serves a scripted episode of shell commands on ``127.0.0.1`` (a free port)."""

    def __init__(
        self, commands: Sequence[str], final_text: str = "Done: final_model is saved."
    ) -> None:
        self.commands = list(commands)
        self.final_text = final_text
        self.requests: list[dict[str, Any]] = []
        """Parsed JSON bodies of the model requests received, in order."""
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__(_handler(self), thread_name="fake-agent-server")

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43210`` (append ``/v1`` for OpenAI clients)."""
        return f"http://127.0.0.1:{self.port}"

    def next_id(self) -> int:
        """A fresh number for message and call ids."""
        with self._lock:
            return next(self._ids)

    def record(self, body: dict[str, Any]) -> None:
        """Keep a request body."""
        with self._lock:
            self.requests.append(body)

    # -- the script ---------------------------------------------------------------------------

    def next_command(self, done: int) -> str | None:
        """The command after ``done`` tool results (None: the episode is over)."""
        return self.commands[done] if done < len(self.commands) else None

    # -- Anthropic Messages -------------------------------------------------------------------

    def anthropic_events(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The stream events of one Messages reply."""
        number = self.next_id()
        done = sum(
            1
            for message in body.get("messages", [])
            if isinstance(message.get("content"), list)
            for block in message["content"]
            if isinstance(block, dict) and block.get("type") == "tool_result"
        )
        tool = _shell_tool([t for t in body.get("tools", []) if "name" in t], "input_schema")
        command = self.next_command(done) if tool else None
        yield {
            "type": "message_start",
            "message": {
                "id": f"msg_{number}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "fake"),
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 100, "output_tokens": 1},
            },
        }
        if command is None or tool is None:
            text = self.final_text if tool else "OK"
            block: dict[str, Any] = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": text}
            stop = "end_turn"
        else:
            name, schema = tool
            block = {"type": "tool_use", "id": f"toolu_{number}", "name": name, "input": {}}
            delta = {
                "type": "input_json_delta",
                "partial_json": json.dumps(_arguments(schema, command)),
            }
            stop = "tool_use"
        yield {"type": "content_block_start", "index": 0, "content_block": block}
        yield {"type": "content_block_delta", "index": 0, "delta": delta}
        yield {"type": "content_block_stop", "index": 0}
        yield {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": 20},
        }
        yield {"type": "message_stop"}

    def anthropic_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """The same reply, not streamed."""
        events = list(self.anthropic_events(body))
        message: dict[str, Any] = events[0]["message"]
        block, delta = events[1]["content_block"], events[2]["delta"]
        if block["type"] == "text":
            block = {"type": "text", "text": delta["text"]}
        else:
            block = {**block, "input": json.loads(delta["partial_json"])}
        return {**message, "content": [block], "stop_reason": events[4]["delta"]["stop_reason"]}

    # -- OpenAI Responses ---------------------------------------------------------------------

    def responses_events(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The stream events of one Responses reply."""
        number = self.next_id()
        raw_items = body.get("input")
        items: list[Any] = raw_items if isinstance(raw_items, list) else []
        done = sum(1 for item in items if str(item.get("type", "")).endswith("call_output"))
        tools = [t for t in body.get("tools", []) if t.get("type") == "function" and "name" in t]
        tool = _shell_tool(tools, "parameters")
        command = self.next_command(done) if tool else None
        response = {
            "id": f"resp_{number}",
            "object": "response",
            "created_at": 0,
            "status": "in_progress",
            "model": body.get("model", "fake"),
            "output": [],
        }
        yield {"type": "response.created", "response": response}
        if command is None or tool is None:
            text = self.final_text if tool else "OK"
            item: dict[str, Any] = {
                "type": "message",
                "id": f"msg_{number}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
            yield {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "content": []},
            }
            yield {
                "type": "response.output_text.delta",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "delta": text,
            }
        else:
            name, schema = tool
            item = {
                "type": "function_call",
                "id": f"fc_{number}",
                "call_id": f"call_{number}",
                "name": name,
                "arguments": json.dumps(_arguments(schema, command)),
                "status": "completed",
            }
            yield {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "arguments": ""},
            }
        yield {"type": "response.output_item.done", "output_index": 0, "item": item}
        usage = {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 40},
            "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 120,
        }
        yield {
            "type": "response.completed",
            "response": {**response, "status": "completed", "output": [item], "usage": usage},
        }

    # -- Gemini -------------------------------------------------------------------------------

    def gemini_reply(self, body: dict[str, Any]) -> dict[str, Any]:
        """One ``GenerateContentResponse``."""
        contents = body.get("contents") or []
        done = sum(
            1
            for content in contents
            for part in content.get("parts") or []
            if isinstance(part, dict) and "functionResponse" in part
        )
        declarations = [
            {**d, "parameters": d.get("parameters") or d.get("parametersJsonSchema") or {}}
            for tool in body.get("tools") or []
            for d in tool.get("functionDeclarations") or []
        ]
        tool = _shell_tool(declarations, "parameters")
        command = self.next_command(done) if tool else None
        part: dict[str, Any]
        if command is not None and tool is not None:
            name, schema = tool
            part = {"functionCall": {"name": name, "args": _arguments(schema, command)}}
        elif (body.get("generationConfig") or {}).get("responseMimeType") == "application/json":
            part = {"text": json.dumps({"next_speaker": "user", "reasoning": "scripted"})}
        else:
            part = {"text": self.final_text if tool else "OK"}
        return {
            "candidates": [
                {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": 100,
                "candidatesTokenCount": 20,
                "totalTokenCount": 120,
            },
            "modelVersion": "fake",
        }


def _shell_tool(tools: list[dict[str, Any]], schema_key: str) -> tuple[str, dict[str, Any]] | None:
    """The request's shell tool: ``(name, JSON schema of its arguments)``."""
    by_name = {str(tool["name"]): tool for tool in tools}
    for name in _SHELL_TOOLS:
        if name in by_name:
            return name, dict(by_name[name].get(schema_key) or {})
    return None


def _arguments(schema: dict[str, Any], command: str) -> dict[str, Any]:
    """Arguments that run ``command`` with a tool of this schema."""
    properties = schema.get("properties") or {}
    for key in ("command", "cmd"):
        if key in properties:
            if properties[key].get("type") == "array":
                value: Any = ["bash", "-lc", command]
            else:
                value = command
            arguments = {key: value}
            if "description" in properties:
                arguments["description"] = "scripted step"
            return arguments
    return {"command": command}


def _handler(server: FakeAgentServer) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802
            """Model lists and health checks get an empty but valid answer."""
            self.send_json(200, {"object": "list", "data": [], "models": []})

        def do_POST(self) -> None:  # noqa: N802
            """Answer Messages and Responses calls (anything else: an empty JSON)."""
            try:
                body = json.loads(self.read_body() or b"{}")
            except json.JSONDecodeError:
                body = {}
            path = self.path.split("?")[0]
            if path.endswith("/messages/count_tokens"):
                self.send_json(200, {"input_tokens": 100})
            elif path.endswith("/messages"):
                server.record(body)
                if body.get("stream"):
                    self._sse(server.anthropic_events(body), named=True)
                else:
                    self.send_json(200, server.anthropic_message(body))
            elif path.endswith("/responses"):
                server.record(body)
                self._sse(server.responses_events(body), named=True)
            elif path.endswith(":countTokens"):
                self.send_json(200, {"totalTokens": 100})
            elif path.endswith(":streamGenerateContent"):
                server.record(body)
                self._sse(iter([server.gemini_reply(body)]), named=False)
            elif path.endswith(":generateContent"):
                server.record(body)
                self.send_json(200, server.gemini_reply(body))
            else:
                self.send_json(200, {})

        def _sse(self, events: Iterator[dict[str, Any]], named: bool) -> None:
            chunks = [
                (f"event: {event['type']}\n" if named else "") + f"data: {json.dumps(event)}\n\n"
                for event in events
            ]
            data = "".join(chunks).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
