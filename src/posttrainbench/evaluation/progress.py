"""Progress of an evaluation: samples done/total, rate and ETA, per attempt.

An inspect-ai hook, registered by ``register_progress()`` (the evaluation process calls it),
reports each task's finished samples through :class:`posttrainbench.progress.Progress`: a
bar on a terminal (``ptb eval``), else plain lines such as
``eval: 64/200 samples · 12.3/s · ETA 11s``, which the harness passes on to the user while
the evaluation process runs (``trial.follow.LineFollower``).
"""

from __future__ import annotations

import functools
from typing import Any

from posttrainbench.progress import Progress

__all__ = ["PROGRESS_LABEL", "PROGRESS_PREFIX", "register_progress"]

PROGRESS_LABEL = "eval"
PROGRESS_PREFIX = f"{PROGRESS_LABEL}: "
"""Start of every plain progress line (what the harness looks for in the process log)."""


@functools.cache
def register_progress() -> None:
    """Register the progress hook with inspect-ai (once per process)."""
    from inspect_ai.hooks import Hooks, SampleEnd, TaskEnd, TaskStart, hooks

    @hooks(name="posttrainbench_progress", description="Prints samples done, rate and ETA.")
    class _EvalProgress(Hooks):
        """Counts the finished samples of the running task."""

        def __init__(self) -> None:
            self.progress: Progress | None = None

        async def on_task_start(self, data: TaskStart) -> None:
            """Start counting: the task's samples times its epochs."""
            epochs = data.spec.config.epochs or 1
            total = (data.spec.dataset.samples or 0) * epochs
            self.progress = Progress(PROGRESS_LABEL, total, unit="samples").__enter__()

        async def on_sample_end(self, data: SampleEnd) -> None:
            """One more sample is done."""
            if self.progress is not None:
                self.progress.advance()

        async def on_task_end(self, data: TaskEnd) -> None:
            """Print the last line (or leave the finished bar)."""
            if self.progress is not None:
                self.progress.close()
                self.progress = None

    _registered.append(_EvalProgress)


_registered: list[Any] = []
