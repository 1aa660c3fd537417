"""Named crash points, armed by ``PTB_FAILPOINTS``, to prove that resume loses nothing.

Tests set ``PTB_FAILPOINTS=evaluate.before_end`` (comma-separated) and the process
SIGKILLs itself when it reaches that point: a real crash, not a simulated one.
"""

from __future__ import annotations

import os
import signal

__all__ = ["failpoint"]


def failpoint(name: str) -> None:
    """Die at once with SIGKILL if the failpoint ``name`` is armed."""
    armed = os.environ.get("PTB_FAILPOINTS", "")
    if name in {part.strip() for part in armed.split(",")}:
        os.kill(os.getpid(), signal.SIGKILL)
