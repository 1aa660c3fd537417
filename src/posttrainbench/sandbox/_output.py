"""Capture a process's stdout and stderr as timestamped JSON lines."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from posttrainbench._redact import Redactor
from posttrainbench._safe_files import FileBounds

__all__ = ["OutputRecorder"]

Stream = Literal["stdout", "stderr"]


class OutputRecorder:
    """Appends ``{"ts", "stream", "line"}`` records to a file, one per output line.

    The file is opened in append mode so that the lines of earlier attempts stay, and
    flushed after every line so that a crash of the harness loses nothing already read.
    What is kept is bounded (``FileBounds``: ``max_output_line_chars`` per line, the rest
    of a longer line dropped; ``max_output_bytes`` in all, later lines dropped, counting
    what the file already holds); a ``harness`` record at close says what was cut.
    """

    def __init__(
        self, path: Path, secrets: Sequence[str] = (), bounds: FileBounds | None = None
    ) -> None:
        self._redact = Redactor(secrets)
        self._bounds = bounds or FileBounds.from_env()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._kept = path.stat().st_size
        self._cut = {"lines_cut": 0, "lines_dropped": 0, "bytes_dropped": 0}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> OutputRecorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, stream: Stream, line: str) -> None:
        """Append one record stamped with the current UTC time."""
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
            "stream": stream,
            "line": self._redact(line) if self._redact else line,
        }
        text = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            if self._kept + len(text) > self._bounds.max_output_bytes:
                self._cut["lines_dropped"] += 1
                self._cut["bytes_dropped"] += len(line)
                return
            self._kept += len(text)
            # A reader thread may outlive close() when a stray process holds the pipe.
            if not self._file.closed:
                self._file.write(text)
                self._file.flush()

    def pump(self, pipe: IO[bytes], stream: Stream) -> None:
        """Start a thread that records ``pipe`` line by line until it closes."""
        thread = threading.Thread(
            target=self._read, args=(pipe, stream), name=f"sandbox-{stream}", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def join(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` in total for the reader threads to reach end of file."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Record what was cut, close the file; later writes from straggling threads are dropped."""
        with self._lock:
            if any(self._cut.values()) and not self._file.closed:
                event = {
                    "kind": "output_cut",
                    "message": (
                        f"agent output cut: {self._cut['lines_cut']} lines longer than "
                        f"{self._bounds.max_output_line_chars} bytes shortened, "
                        f"{self._cut['lines_dropped']} lines dropped past "
                        f"{self._bounds.max_output_bytes} bytes in all"
                    ),
                    **self._cut,
                }
                record = {
                    "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
                    "stream": "harness",
                    "line": json.dumps(event),
                }
                self._file.write(json.dumps(record) + "\n")
            self._file.close()

    def _read(self, pipe: IO[bytes], stream: Stream) -> None:
        limit = self._bounds.max_output_line_chars
        cutting = False  # inside a line whose first ``limit`` bytes were kept
        with pipe:
            while chunk := pipe.readline(limit):
                ended = chunk.endswith(b"\n")
                if cutting:
                    with self._lock:
                        self._cut["bytes_dropped"] += len(chunk)
                    cutting = not ended
                    continue
                if not ended and len(chunk) >= limit:
                    cutting = True
                    with self._lock:
                        self._cut["lines_cut"] += 1
                self.write(stream, chunk.removesuffix(b"\n").decode("utf-8", "replace"))
