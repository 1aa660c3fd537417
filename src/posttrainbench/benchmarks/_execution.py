"""Run untrusted generated code in the harness's sandbox, never in the harness process.

Each program runs in a fresh process under the sandbox backend (bubblewrap where it can
run: no network, a read-only system, a private ``/tmp``, only its own scratch directory
writable, its own PID namespace), with memory and file-size limits, and its whole process
tree is killed at the time limit. Its verdict is its exit status alone.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ExecutionResult", "run_python"]

MEMORY_LIMIT_BYTES = 4 << 30
"""Address-space limit of a program (a runaway allocation fails, it does not swap)."""
FILE_SIZE_LIMIT_BYTES = 16 << 20
"""Largest file a program may write."""
_PROGRAM = "program.py"
# Limits are set by a tiny bootstrap before the program runs, inside the sandbox.
_BOOTSTRAP = (
    "import resource, runpy\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT_BYTES}, {MEMORY_LIMIT_BYTES}))\n"
    f"resource.setrlimit(resource.RLIMIT_FSIZE, ({FILE_SIZE_LIMIT_BYTES}, "
    f"{FILE_SIZE_LIMIT_BYTES}))\n"
    f"runpy.run_path({_PROGRAM!r}, run_name='__main__')\n"
)


@dataclass(frozen=True)
class ExecutionResult:
    """How one program run ended."""

    passed: bool
    """Exited with status 0 within the time limit."""
    timed_out: bool
    exit_code: int | None
    """None when the program was killed."""
    output_tail: str
    """The end of its combined output, for the score's explanation."""


def run_python(program: str, timeout_s: float, *, sandbox: str | None = None) -> ExecutionResult:
    """Run ``program`` with the harness's Python in a sandbox; blocks until it ends.

    Args:
        program: Python source, run as ``__main__`` in an empty scratch directory.
        timeout_s: Wall-clock limit; at the limit the process tree is killed.
        sandbox: Sandbox backend name (None: bubblewrap where it can run, else a plain
            process, with a warning).
    """
    from posttrainbench._fileio import read_jsonl
    from posttrainbench.sandbox import NO_NETWORK, Mount, SandboxRequest, get_sandbox

    backend = get_sandbox(sandbox)
    with (
        tempfile.TemporaryDirectory(prefix="ptb-exec-") as scratch,
        tempfile.TemporaryDirectory(prefix="ptb-exec-log-") as logs,
    ):
        work = Path(scratch)
        (work / _PROGRAM).write_text(program, encoding="utf-8")
        output = Path(logs) / "output.jsonl"
        request = SandboxRequest(
            argv=[sys.executable, "-I", "-B", "-c", _BOOTSTRAP],
            cwd=work,
            env={"PATH": "/usr/bin:/bin", "HOME": str(work), "PYTHONHASHSEED": "0"},
            time_limit_s=timeout_s,
            output_path=output,
            mounts=[Mount(work, writable=True)],
            network=NO_NETWORK,
            kill_grace_s=1.0,
        )
        result = backend.run(request)
        lines = [str(record.get("line", "")) for record in read_jsonl(output)]
    tail = "\n".join(lines[-20:])[-2000:]
    return ExecutionResult(
        passed=result.exit_code == 0 and not result.timed_out,
        timed_out=result.timed_out,
        exit_code=result.exit_code,
        output_tail=tail,
    )
