"""HumanEval's checker and answer processes: the tests never share a process with the answer.

This file runs as a script inside the execution sandbox (``python -I``: it imports nothing
from the harness). ``check DIR`` is the checker: it reads the sentinel from
``DIR/sentinel`` and deletes the file, makes itself undumpable (so no process of the same
user can read its memory or its file descriptors), starts the answer process, runs the
problem's prompt and tests in its own namespace with ``check(candidate)`` where
``candidate`` is a proxy, and prints the sentinel only after ``check`` returned.

``answer FD`` is the answer process: it runs ``prompt + completion`` as ``__main__`` with
its output discarded, then serves calls of the entry point on the socket ``FD``. Arguments
and results cross as ``repr`` text parsed by ``ast.literal_eval``, so the checker only ever
sees plain built-in values: an object with a custom ``__eq__``, a patched ``assert`` or
builtin, ``sys.exit``/``os._exit``, an ``atexit`` hook or a frame walk to the checker's
constants all stay inside the answer process, where they cannot make ``check`` pass.

Messages are a 4-byte big-endian length and UTF-8 JSON:
``{"op": "load", "code", "entry_point"}`` -> ``{"loaded": true}`` | ``{"load_error"}``;
``{"op": "call", "args", "kwargs"}`` -> ``{"value": repr}`` | ``{"raised": traceback}``.
"""

from __future__ import annotations

import ast
import builtins
import ctypes
import json
import socket
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

_MAX_MESSAGE = 64 << 20
_PR_SET_DUMPABLE = 4
_PLAIN = (bool, int, float, complex, str, bytes)


class AnswerFailed(Exception):
    """The answer raised, exited, or broke the protocol: the sample fails."""


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    body = json.dumps(message).encode("utf-8")
    if len(body) > _MAX_MESSAGE:
        raise AnswerFailed(f"message of {len(body)} bytes")
    sock.sendall(len(body).to_bytes(4, "big") + body)


def _read(sock: socket.socket, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket) -> dict[str, Any] | None:
    header = _read(sock, 4)
    if header is None:
        return None
    size = int.from_bytes(header, "big")
    if size > _MAX_MESSAGE:
        raise AnswerFailed(f"message of {size} bytes")
    body = _read(sock, size)
    if body is None:
        raise AnswerFailed("connection closed mid-message")
    message = json.loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise AnswerFailed("malformed message")
    return message


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as error:
        raise AnswerFailed(f"not a plain value: {text[:200]}") from error


def _encode(value: Any) -> str:
    text = repr(value)
    if _literal(text) != value:
        raise RuntimeError(f"a test argument cannot be sent to the answer: {text[:200]}")
    return text


class Candidate:
    """Stands in for the answer's function in ``check``: each call runs in the answer."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _send(self._sock, {"op": "call", "args": _encode(args), "kwargs": _encode(kwargs)})
        reply = _receive(self._sock)
        if reply is None:
            raise AnswerFailed("the answer process ended during a call")
        if "value" not in reply:
            raise AnswerFailed(str(reply.get("raised", reply))[-2000:])
        return _literal(str(reply["value"]))


def check(folder: Path) -> None:
    """The checker: exits 0 and prints the sentinel only when ``check`` returned."""
    sentinel_file = folder / "sentinel"
    sentinel = sentinel_file.read_text()
    sentinel_file.unlink()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise RuntimeError("cannot make the checker undumpable")
    mine, theirs = socket.socketpair()
    answer = subprocess.Popen(
        [sys.executable, "-I", "-B", __file__, "answer", str(theirs.fileno())],
        pass_fds=(theirs.fileno(),),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    theirs.close()
    entry_point = (folder / "entry_point").read_text()
    _send(
        mine, {"op": "load", "code": (folder / "answer.py").read_text(), "entry_point": entry_point}
    )
    reply = _receive(mine)
    if reply != {"loaded": True}:
        raise AnswerFailed(f"the answer did not load: {str(reply)[-2000:]}")
    namespace: dict[str, Any] = {"__name__": "__ptb_check__"}
    exec(compile((folder / "tests.py").read_text(), "<tests>", "exec"), namespace)
    candidate = Candidate(mine)
    # Some tests call the function by name (HumanEval/33): the name is the proxy too.
    namespace[entry_point] = candidate
    namespace["check"](candidate)
    mine.close()
    answer.kill()
    print(sentinel, flush=True)


def _plain(value: Any) -> Any:
    """``value`` as built-in types (numpy scalars, subclasses, namedtuples included)."""
    if value is None or type(value) in _PLAIN:
        return value
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return _plain(value.item())
    for base in _PLAIN:
        if isinstance(value, base):
            return base(value)  # type: ignore[arg-type]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return {_plain(item) for item in value}
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    return value


def serve_answer(fd: int) -> None:
    """The answer process: load the code, then answer calls until the checker hangs up."""
    sock = socket.socket(fileno=fd)
    message = _receive(sock)
    if message is None or message.get("op") != "load":
        return
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(str(message["code"]), "<answer>", "exec"), namespace)
        function = namespace[str(message["entry_point"])]
    except Exception:
        _send(sock, {"load_error": traceback.format_exc()})
        return
    _send(sock, {"loaded": True})
    while (message := _receive(sock)) is not None:
        try:
            result = function(*_literal(message["args"]), **_literal(message["kwargs"]))
            _send(sock, {"value": repr(_plain(result))})
        except Exception:
            _send(sock, {"raised": traceback.format_exc()})


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(Path(sys.argv[2]))
    else:
        serve_answer(int(sys.argv[2]))
