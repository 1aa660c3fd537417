"""Heavy imports done ahead of time, by a process that will fork the work needing them.

The evaluation zygote (``trial.eval_process``) imports these once and forks each attempt.
Purely a speed hint: a module missing here is imported when first used, one not installed
is skipped. Never import them on a thread beside code that may import them too:
transformers' lazy module does not survive two threads importing it at once.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

__all__ = ["ML_STACK", "import_all", "importing_meanwhile"]

ML_STACK = (
    "torch",
    "transformers",
    "transformers.models.auto.tokenization_auto",
    "transformers.convert_slow_tokenizer",
    "transformers.models.qwen3.modeling_qwen3",
    "transformers.models.llama.modeling_llama",
    "transformers.models.smollm3.modeling_smollm3",
    "transformers.models.gemma3.modeling_gemma3",
)
"""torch, transformers, and the model families of the catalog."""


def import_all(modules: Iterable[str]) -> None:
    """Import each of ``modules`` that is installed."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            continue


@contextmanager
def importing_meanwhile(modules: Iterable[str]) -> Iterator[None]:
    """Import ``modules`` on a thread while the block waits on other work.

    For a block that only waits (on an agent's process): the imports use a core it leaves
    idle, and the code after the block finds them done (the thread is joined when the
    block ends normally). The block itself must not import any of them (see the module
    docstring). A block left by an exception (a SIGTERM's ``SystemExit``) does not wait:
    the process is on its way out, and a cluster job that outlives its cancellation keeps
    holding its trial's lock while the requeued job starts.
    """
    thread = threading.Thread(target=import_all, args=(list(modules),), daemon=True)
    thread.start()
    yield
    thread.join()
