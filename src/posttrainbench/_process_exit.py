"""Ending a process without tearing down the modules it imported.

An interpreter that imported torch, transformers and inspect-ai spends about 3.7 s of CPU
at exit freeing its modules one by one (2-core host, measured after ``atexit`` had run);
a ``ptb`` command, a trial's worker and the recipe's training process each paid that after
their last line. Nothing of ours needs the teardown: records are written atomically and
closed. :func:`exit_now` ends the process as a normal exit would, minus the teardown:
non-daemon threads are joined, ``atexit`` handlers run (evaluation zygotes are closed,
logging flushed), standard streams flushed, then ``os._exit``.

Only a process's own entry point may call it (``__main__`` blocks, the ``ptb`` script):
a library function that exits the process would end a test runner too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn

__all__ = ["exit_now", "exiting_now"]


def exit_now(code: int | None) -> NoReturn:
    """End the process with ``code`` (None: 0) the way a normal exit does, minus teardown."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # noqa: SLF001 - the interpreter's own exit step, run once here
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe must not change the exit code
            stream.flush()
    os._exit(code or 0)


@contextlib.contextmanager
def exiting_now() -> Iterator[None]:
    """Turn the block's end, or its ``SystemExit``, into :func:`exit_now`.

    Any other exception propagates: Python prints its traceback and exits as usual.
    """
    try:
        yield
    except SystemExit as stop:
        code = stop.code
        if not isinstance(code, int) and code is not None:
            print(code, file=sys.stderr)  # what sys.exit("message") prints
            code = 1
        exit_now(code)
    exit_now(0)
