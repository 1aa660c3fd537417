"""SIGTERM as a clean stop that is not lost where Python drops its exception.

A worker asked to stop (``scancel``, ``ptb cancel``, a cluster's time limit) gets SIGTERM;
its handler raises ``SystemExit`` so that every ``finally`` on the way out runs (the
sandbox kills the agent's tree, the trial's lock is released). Python runs a handler at
the next bytecode of the main thread, which may be inside an at-fork hook (logging's,
while a subprocess starts) or a ``__del__``: there the exception is printed as "Exception
ignored" and the process carries on as if never asked. So the handler also records the
request, and the loops that run long check it at safe points (:func:`raise_if_requested`:
each phase of a trial, each poll of the agent's process) and stop then.
"""

from __future__ import annotations

import signal
from types import FrameType

__all__ = ["raise_if_requested", "stop_on_sigterm"]

_requested: int | None = None
"""The signal that asked this process to stop, once one did."""


def stop_on_sigterm() -> None:
    """From now on SIGTERM raises ``SystemExit(143)``, and keeps asking until obeyed."""
    signal.signal(signal.SIGTERM, _terminate)


def raise_if_requested() -> None:
    """Raise ``SystemExit`` if a stop was requested (its first exception may have been lost)."""
    if _requested is not None:
        raise SystemExit(128 + _requested)


def _terminate(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = signum
    raise SystemExit(128 + signum)
