"""Functions the zygote tests run as attempts (imported in the attempt, by name)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

_calls = 0
"""Set by ``count_calls``: a fresh attempt always starts from 0."""


def report(argv: list[str]) -> int:
    """Print what the attempt sees, then exit with the status given in ``argv[0]``."""
    global _calls
    _calls += 1
    print(f"argv={argv[1:]}")
    print(f"calls={_calls}")
    print(f"variable={os.environ.get('ZYGOTE_TEST_VARIABLE')}")
    print(f"cwd={Path.cwd()}")
    print(f"pid={os.getpid()} zygote={os.getppid()} group={os.getpgid(0)}", flush=True)
    return int(argv[0])


def fail(argv: list[str]) -> int:
    """Raise: the attempt exits with status 1 and its traceback in the log."""
    raise ValueError(f"broken attempt {argv}")


def hang_with_child(argv: list[str]) -> int:
    """Start a long-lived child, write both pids to ``argv[0]``, then hang."""
    child = subprocess.Popen(["sleep", "600"])
    Path(argv[0] + ".part").write_text(f"{os.getpid()} {child.pid}")
    Path(argv[0] + ".part").rename(argv[0])  # whole when it appears
    while True:
        time.sleep(1)
