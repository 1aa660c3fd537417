"""Evaluation attempts as fresh processes forked from the harness's evaluation zygote.

Each evaluation attempt runs in a process of its own: pristine interpreter state, its own
log, its process group killed on timeout, gone when the harness dies. A new interpreter
spends about 10 s importing torch, transformers and inspect-ai on a 2-core CPU, longer than
the evaluation of a toy model itself; so each harness process keeps one zygote
(``posttrainbench._zygote``) that imports ``posttrainbench.evaluation._warm`` once, never
evaluates anything, and forks one attempt per evaluation. An attempt thus shares no state
with the harness (the zygote never was the harness) nor with earlier attempts.

A trial's worker forked from a warm zygote (the local queue's) already has those imports:
it forks its evaluation zygote from itself at its start (:func:`fork_zygote_here`), before
it holds anything of the trial, instead of starting another interpreter.
"""

from __future__ import annotations

import atexit
import sys
import threading
from pathlib import Path

from posttrainbench._zygote import Zygote, usable_zygote

__all__ = ["fork_zygote_here", "run_evaluation_process", "start_zygote"]

_EVALUATION_ENTRY = "posttrainbench.evaluation.final:main"
_lock = threading.Lock()
"""One evaluation at a time per harness process."""
_shared: Zygote | None = None


def _evaluation_zygote() -> Zygote:
    """The evaluation zygote for the current environment, started if needed (hold ``_lock``)."""
    global _shared
    from posttrainbench.evaluation._warm import WARM_MODULES

    _shared = usable_zygote(_shared, WARM_MODULES)
    return _shared


def start_zygote() -> None:
    """Start the evaluation zygote now, so that its imports overlap with other work.

    Call it on the main thread: the zygote dies with the thread that started it.
    """
    if _lock.acquire(blocking=False):
        try:
            _evaluation_zygote()
        finally:
            _lock.release()


def fork_zygote_here() -> bool:
    """Make this process's evaluation zygote a fork of itself, if it is warm and pristine.

    For a process at its very start that has the evaluation's modules already (a worker
    forked from a warm zygote) and one thread. Returns whether it did; otherwise the
    zygote starts as a fresh interpreter when first needed.
    """
    global _shared
    from posttrainbench.evaluation._warm import WARM_MODULES

    # The harness's own evaluation modules import the rest of the list when imported.
    warm = all(name in sys.modules for name in WARM_MODULES if name.startswith("posttrainbench"))
    with _lock:
        if _shared is not None or not warm or threading.active_count() != 1:
            return False
        _shared = Zygote.fork_here()
    return True


def run_evaluation_process(argv: list[str], log_path: Path, timeout_s: float) -> int | None:
    """``python -m posttrainbench.evaluation.final *argv`` as an attempt of the shared zygote.

    See :meth:`Zygote.run` for the output, the return value and the timeout.
    """
    with _lock:  # a zygote that died or was closed is replaced by the next call
        return _evaluation_zygote().run(_EVALUATION_ENTRY, argv, log_path, timeout_s)


@atexit.register
def _close_zygote_at_exit() -> None:
    if _shared is not None:
        _shared.close()
