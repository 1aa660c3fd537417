"""The zygote that trial workers are forked from (see ``posttrainbench._zygote``).

A worker started as a fresh interpreter imports torch and transformers for the audit and
starts an evaluation zygote that imports them again with inspect-ai: about 25 s of CPU on
a 2-core host before a toy trial does anything. A process that starts workers (the local
queue, the crash tests) keeps one zygote that imported all of it once; each worker forked
from it starts warm and forks its own evaluation zygote from itself
(``trial.eval_process.fork_zygote_here``).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping

from posttrainbench._zygote import Zygote, usable_zygote

__all__ = ["WORKER_ENTRY", "WORKER_WARM_MODULES", "worker_zygote"]

WORKER_ENTRY = "posttrainbench.executors._worker:main"


def _warm_modules() -> tuple[str, ...]:
    from posttrainbench.audit.registry import AUDIT_WARM_MODULES
    from posttrainbench.evaluation._warm import WARM_MODULES

    return tuple(dict.fromkeys((*WARM_MODULES, *AUDIT_WARM_MODULES, WORKER_ENTRY.split(":")[0])))


WORKER_WARM_MODULES = _warm_modules()
"""What a worker imports: the evaluation's modules, the audit's, the worker itself."""

_lock = threading.Lock()
_shared: Zygote | None = None


def worker_zygote(environ: Mapping[str, str]) -> Zygote:
    """This process's worker zygote for workers run with ``environ``, started if needed.

    Call it on the main thread: the zygote dies with the thread that started it.
    """
    global _shared
    with _lock:
        _shared = usable_zygote(_shared, WORKER_WARM_MODULES, environ)
        return _shared


@atexit.register
def _close_at_exit() -> None:
    if _shared is not None:
        _shared.close()
