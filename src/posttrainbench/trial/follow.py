"""Echoing output to the operator while it is written.

The agent's stream (the demo), and the progress lines of an evaluation process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

__all__ = ["LineFollower", "StreamFollower"]


class StreamFollower:
    """Tails ``raw.jsonl`` in a thread and passes each new line to ``log``."""

    def __init__(self, path: Path, log: Callable[[str], None], poll_s: float = 0.5) -> None:
        self.path = path
        self.log = log
        self.poll_s = poll_s
        self._offset = path.stat().st_size if path.exists() else 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ptb-follow", daemon=True)

    def _drain(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # leave a line being written for later
        self._offset += len(complete)
        for line in complete.decode("utf-8", errors="replace").splitlines():
            self._emit(line)

    def _emit(self, line: str) -> None:
        """Pass on one complete line of the file."""
        try:
            text = json.loads(line)["line"]
        except (json.JSONDecodeError, KeyError, TypeError):
            return
        if text.strip():
            self.log(f"  agent │ {text}")

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            self._drain()

    def __enter__(self) -> StreamFollower:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._drain()


class LineFollower(StreamFollower):
    """Tails a plain text file and passes on the lines that start with ``prefix``."""

    def __init__(
        self, path: Path, log: Callable[[str], None], prefix: str, poll_s: float = 0.5
    ) -> None:
        super().__init__(path, log, poll_s)
        self.prefix = prefix

    def _emit(self, line: str) -> None:
        if line.startswith(self.prefix):
            self.log(line.rstrip())
