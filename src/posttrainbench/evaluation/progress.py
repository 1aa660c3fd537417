"""Progress lines of an evaluation: samples done/total, rate and ETA, per attempt.

An inspect-ai hook, registered by ``register_progress()`` (the evaluation process calls it):
every ``PROGRESS_INTERVAL_S`` seconds, and at the first and last sample, it prints one
plain line, ``eval: 64/200 samples · 12.3/s · ETA 11s``, which the harness passes on to
the user while the evaluation runs (``trial.follow.LineFollower``).
"""

from __future__ import annotations

import functools
import time
from typing import Any

__all__ = ["PROGRESS_INTERVAL_S", "PROGRESS_PREFIX", "progress_line", "register_progress"]

PROGRESS_PREFIX = "eval: "
"""Start of every progress line (what the harness looks for in the process log)."""
PROGRESS_INTERVAL_S = 5.0
"""Seconds between two progress lines."""


def progress_line(done: int, total: int, elapsed_s: float) -> str:
    """``eval: 64/200 samples · 12.3/s · ETA 11s``."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    line = f"{PROGRESS_PREFIX}{done}/{total} samples · {rate:.1f}/s"
    if rate > 0 and total > done:
        line += f" · ETA {round((total - done) / rate)}s"
    return line


@functools.cache
def register_progress() -> None:
    """Register the progress hook with inspect-ai (once per process)."""
    from inspect_ai.hooks import Hooks, SampleEnd, TaskStart, hooks

    @hooks(name="posttrainbench_progress", description="Prints samples done, rate and ETA.")
    class _EvalProgress(Hooks):
        """Counts finished samples of the running task and prints a line now and then."""

        def __init__(self) -> None:
            self.total = 0
            self.done = 0
            self.started = self.last = time.monotonic()

        async def on_task_start(self, data: TaskStart) -> None:
            """Reset the counts: the task's samples times its epochs."""
            epochs = data.spec.config.epochs or 1
            self.total, self.done = (data.spec.dataset.samples or 0) * epochs, 0
            self.started = self.last = time.monotonic()
            print(progress_line(0, self.total, 0.0), flush=True)

        async def on_sample_end(self, data: SampleEnd) -> None:
            """Print a line when the interval has passed, and at the first and last sample."""
            self.done += 1
            now = time.monotonic()
            if self.done in {1, self.total} or now - self.last >= PROGRESS_INTERVAL_S:
                self.last = now
                print(progress_line(self.done, self.total, now - self.started), flush=True)

    _registered.append(_EvalProgress)


_registered: list[Any] = []
