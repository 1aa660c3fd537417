"""Progress of long work with an ETA: a rich bar on a terminal, plain periodic lines elsewhere.

Every long phase reports through :class:`Progress`: evaluation (samples), the reference
recipe's training (steps), ``ptb run`` on an experiment (trials, by phase) and
``ptb data fetch`` (data sources). On a terminal it draws a rich progress bar; when the
output is a file or a pipe (CI, a process log the harness follows) it prints one plain line
every ``interval_s`` seconds, and at the first and last unit::

    eval: 64/200 samples · 12.3/s · ETA 11s

The rate leaves out the warm-up (loading a model, compiling, the first batch): it is
measured from the first report that shows work done, and no ETA is shown until
:data:`MIN_WINDOW_S` seconds of work have been measured after it, so an early line never
promises hours for what takes seconds. Rich is imported only when a bar is drawn.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "MIN_WINDOW_S",
    "PROGRESS_INTERVAL_S",
    "Progress",
    "duration",
    "progress_line",
    "rate_text",
]

PROGRESS_INTERVAL_S = 5.0
"""Seconds between two plain progress lines."""
MIN_WINDOW_S = 3.0
"""Seconds of measured work (after the warm-up) before a rate and an ETA are shown."""
_BURST_S = 0.05
"""Reports this close to the first one belong to it (a batch finishing at once)."""


def duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``2h07m``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def rate_text(rate: float, unit: str = "") -> str:
    """``12.3/s``, or ``1.4/min`` when under one a second (trials, long steps)."""
    per = f" {unit}" if unit else ""
    if 0 < rate < 1:
        return f"{rate * 60:,.1f}{per}/min"
    return f"{rate:,.1f}{per}/s"


def progress_line(
    label: str, done: int, total: int | None, unit: str, rate: float | None, info: str = ""
) -> str:
    """``eval: 64/200 samples · 12.3/s · ETA 11s`` (rate and ETA only when known)."""
    counts = f"{done}/{total}" if total else f"{done}"
    parts = [f"{label}: {counts} {unit}".rstrip()]
    if info:
        parts.append(info)
    if rate is not None:
        parts.append(rate_text(rate))
        if total and total > done:
            parts.append(f"ETA {duration((total - done) / rate)}" if rate > 0 else "ETA ?")
    return " · ".join(parts)


class _Rate:
    """Units per second since the end of the warm-up (None until it means something)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.start: tuple[float, int] | None = None

    def observe(self, done: int) -> float | None:
        now = self.clock()
        if done <= 0:
            return None
        if self.start is None or now - self.start[0] < _BURST_S:
            # The first report closes the warm-up; a burst finishing with it joins it.
            self.start = (now if self.start is None else self.start[0], done)
            return None
        elapsed = now - self.start[0]
        if elapsed < MIN_WINDOW_S or done == self.start[1]:
            return None  # too early, or nothing done since the warm-up: no rate to speak of
        return (done - self.start[1]) / elapsed


class Progress:
    """One piece of long work: ``total`` units, reported as they are done.

    Use as a context manager; call :meth:`update` (absolute) or :meth:`advance` (relative)
    with an optional ``info`` text (``loss 0.41``, ``2 running · 3 queued``) shown beside
    the counts. ``console`` decides the form: a terminal gets a bar, anything else plain
    lines on the console's file (default: a console on stdout).
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        unit: str = "",
        console: Console | None = None,
        interval_s: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.interval_s = interval_s
        self.clock = clock
        self.done = 0
        self.info = ""
        self._console = console
        self._rate = _Rate(clock)
        self._last_line: float | None = None
        self._printed: tuple[int, str] | None = None
        self._bar: Any = None
        self._task: Any = None

    @property
    def on_terminal(self) -> bool:
        """Whether a bar is drawn (the console is a terminal)."""
        if self._console is not None:
            return bool(self._console.is_terminal)
        return sys.stdout.isatty()

    def __enter__(self) -> Progress:
        if self.on_terminal:
            self._start_bar()
        else:
            self._line(force=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def advance(self, units: int = 1, info: str | None = None) -> None:
        """``units`` more are done."""
        self.update(self.done + units, info)

    def update(self, done: int, info: str | None = None, total: int | None = None) -> None:
        """``done`` units are done so far (of ``total``, when it changed); ``info`` beside."""
        self.done = done
        if total is not None:
            self.total = total
        if info is not None:
            self.info = info
        rate = self._rate.observe(done)
        if self._bar is not None:
            self._bar.update(
                self._task, completed=done, total=self.total, info=self._bar_info(rate)
            )
        else:
            first = done > 0 and (self._printed is None or self._printed[0] == 0)
            last = self.total is not None and done >= self.total
            self._line(force=first or last, rate=rate)

    def close(self) -> None:
        """Stop the bar (leaving its last state on screen) or print the last line."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        else:
            self._line(force=True)

    def _line(self, *, force: bool, rate: float | None = None) -> None:
        now = self.clock()
        if not force and self._last_line is not None and now - self._last_line < self.interval_s:
            return
        state = (self.done, self.info)
        if force and state == self._printed and self._last_line is not None:
            return  # nothing new since the last line
        self._last_line, self._printed = now, state
        line = progress_line(self.label, self.done, self.total, self.unit, rate, self.info)
        stream: IO[str] = self._console.file if self._console is not None else sys.stdout
        stream.write(line + "\n")
        stream.flush()

    def _bar_info(self, rate: float | None) -> str:
        parts = [self.info] if self.info else []
        if rate is not None:
            parts.append(rate_text(rate, self.unit))
            if self.total and self.total > self.done and rate > 0:
                parts.append(f"ETA {duration((self.total - self.done) / rate)}")
        return " · ".join(parts)

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(self.unit),
            TextColumn("{task.fields[info]}"),
            console=self._console or Console(),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=self.total, info="")
