"""The harness's warm zygote, and evaluation attempts as processes forked from it.

A new interpreter spends 10-15 s of CPU importing torch, transformers and inspect-ai on a
2-core host, longer than the evaluation of a toy model itself. So each harness process
keeps one zygote (``posttrainbench._zygote``) that imports what a trial's processes need
(:data:`HARNESS_WARM_MODULES`: the evaluation's modules, the audit's, the trial worker)
once, never runs anything itself, and forks:

- each evaluation attempt (:func:`run_evaluation_process`): pristine interpreter state,
  its own log, its process group killed on timeout, gone when the harness dies;
- each trial worker of a local queue (``executors.local``), and of the crash tests.

A worker forked that way already has every import: at its start, before it holds anything
of its trial, it forks its own zygote from itself (:func:`fork_zygote_here`) instead of
starting another interpreter. A worker started cold (a cluster job) imports them first,
then does the same. Nothing forked shares state with the harness (the zygote
never was the harness) nor with earlier children.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from posttrainbench._warm import import_all
from posttrainbench._zygote import Zygote, usable_zygote
from posttrainbench.audit.registry import AUDIT_WARM_MODULES
from posttrainbench.evaluation._warm import WARM_MODULES

__all__ = [
    "HARNESS_WARM_MODULES",
    "WORKER_ENTRY",
    "fork_zygote_here",
    "harness_zygote",
    "run_evaluation_process",
    "start_zygote",
]

WORKER_ENTRY = "posttrainbench.executors._worker:main"
"""What a trial's worker process runs (``executors._worker``)."""
HARNESS_WARM_MODULES = tuple(
    dict.fromkeys((*WARM_MODULES, *AUDIT_WARM_MODULES, WORKER_ENTRY.partition(":")[0]))
)
"""What the harness zygote imports: the evaluation's modules, the audit's, the worker."""
_EVALUATION_ENTRY = "posttrainbench.evaluation.final:main"
_zygote_lock = threading.Lock()
_evaluation_lock = threading.Lock()
"""One evaluation at a time per harness process."""
_shared: Zygote | None = None


def harness_zygote(environ: Mapping[str, str] | None = None) -> Zygote:
    """This process's zygote for children run with ``environ`` (default: now).

    Started if needed; a change of an import-time variable starts a new one. Call it
    first on the main thread: the zygote dies with the thread that started it.
    """
    global _shared
    with _zygote_lock:
        _shared = usable_zygote(_shared, HARNESS_WARM_MODULES, environ)
        return _shared


def start_zygote() -> None:
    """Start the harness zygote now (if none runs), so that its imports overlap other work."""
    if not _zygote_lock.locked():
        harness_zygote()


def fork_zygote_here(modules: Sequence[str] = HARNESS_WARM_MODULES) -> bool:
    """Make this process's zygote a fork of itself, with the harness zygote's imports.

    For a trial's worker at its very start, before it holds anything of its trial: forked
    from a harness zygote, it has every import already; started cold (a cluster job), it
    imports them now, once, instead of once for its audit and again in a zygote started
    as a fresh interpreter. Returns whether it forked; not when another Python thread runs
    (not pristine), and then the zygote starts as a fresh interpreter when first needed.
    """
    global _shared
    import_all(modules)
    with _zygote_lock:
        if _shared is not None:
            return False
        try:
            _shared = Zygote.fork_here()
        except RuntimeError:  # another thread runs already: not pristine
            return False
    return True


def run_evaluation_process(argv: list[str], log_path: Path, timeout_s: float) -> int | None:
    """``python -m posttrainbench.evaluation.final *argv`` as an attempt of the zygote.

    See :meth:`Zygote.run` for the output, the return value and the timeout.
    """
    with _evaluation_lock:  # a zygote that died or was closed is replaced here
        return harness_zygote().run(_EVALUATION_ENTRY, argv, log_path, timeout_s)


@atexit.register
def _close_zygote_at_exit() -> None:
    if _shared is not None:
        _shared.close()
