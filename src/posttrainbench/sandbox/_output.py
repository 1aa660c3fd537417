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

__all__ = ["OutputRecorder"]

Stream = Literal["stdout", "stderr"]

# A stream that never prints a newline (a progress bar, binary junk) must not grow one
# record without bound, so long lines are cut into records of at most this many bytes.
_MAX_LINE_BYTES = 1 << 20


class OutputRecorder:
    """Appends ``{"ts", "stream", "line"}`` records to a file, one per output line.

    The file is opened in append mode so that the lines of earlier attempts stay, and
    flushed after every line so that a crash of the harness loses nothing already read.
    """

    def __init__(self, path: Path, secrets: Sequence[str] = ()) -> None:
        self._redact = Redactor(secrets)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
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
        with self._lock:
            # A reader thread may outlive close() when a stray process holds the pipe.
            if not self._file.closed:
                self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
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
        """Close the file; later writes from straggling threads are dropped."""
        with self._lock:
            self._file.close()

    def _read(self, pipe: IO[bytes], stream: Stream) -> None:
        with pipe:
            while chunk := pipe.readline(_MAX_LINE_BYTES):
                self.write(stream, chunk.removesuffix(b"\n").decode("utf-8", "replace"))
