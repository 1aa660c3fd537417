"""Run untrusted generated code in the harness's sandbox, never in the harness process.

Each program runs in a fresh process under the sandbox backend (bubblewrap where it can
run: no network, a read-only system, a private ``/tmp``, only its own scratch directory
writable, its own PID namespace), with memory and file-size limits, and its whole process
tree is killed at the time limit. :func:`run_python`'s verdict is the exit status;
:func:`run_split_check` (HumanEval) runs the tests and the answer in two processes and
passes only when the checker printed a fresh random sentinel after ``check`` returned.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ExecutionResult", "run_python", "run_split_check"]

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
    "import sys\n"
    "sys.argv = [{program!r}, *{args!r}]\n"
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


def run_python(
    program: str,
    timeout_s: float,
    *,
    sandbox: str | None = None,
    files: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    sentinel: str | None = None,
) -> ExecutionResult:
    """Run ``program`` with the harness's Python in a sandbox; blocks until it ends.

    Args:
        program: Python source, run as ``__main__`` in an empty scratch directory.
        timeout_s: Wall-clock limit; at the limit the process tree is killed.
        sandbox: Sandbox backend name (None: bubblewrap where it can run, else a plain
            process, with a warning).
        files: More files written next to the program (name -> text).
        args: The program's ``sys.argv[1:]``; ``{dir}`` stands for its scratch directory.
        sentinel: When given, passing also needs this exact line in the output.
    """
    from posttrainbench._fileio import read_jsonl
    from posttrainbench.sandbox import NO_NETWORK, Mount, SandboxRequest, get_sandbox

    backend = get_sandbox(sandbox, unisolated_fallback=True)
    with (
        tempfile.TemporaryDirectory(prefix="ptb-exec-") as scratch,
        tempfile.TemporaryDirectory(prefix="ptb-exec-log-") as logs,
    ):
        work = Path(scratch)
        (work / _PROGRAM).write_text(program, encoding="utf-8")
        for name, text in (files or {}).items():
            (work / name).write_text(text, encoding="utf-8")
        argv = [arg.replace("{dir}", str(work)) for arg in args]
        bootstrap = _BOOTSTRAP.replace("{program!r}", repr(_PROGRAM)).replace(
            "{args!r}", repr(argv)
        )
        output = Path(logs) / "output.jsonl"
        request = SandboxRequest(
            argv=[sys.executable, "-I", "-B", "-c", bootstrap],
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
    if sentinel is not None:
        # Only the checker writes to this output, and only once check() has returned.
        passed = (
            result.exit_code == 0
            and not result.timed_out
            and sentinel in (line.strip() for line in lines)
        )
        return ExecutionResult(passed, result.timed_out, result.exit_code, tail)
    return ExecutionResult(
        passed=result.exit_code == 0 and not result.timed_out,
        timed_out=result.timed_out,
        exit_code=result.exit_code,
        output_tail=tail,
    )


def run_split_check(
    answer: str, tests: str, entry_point: str, timeout_s: float, *, sandbox: str | None = None
) -> ExecutionResult:
    """Check ``answer`` with ``tests`` in two sandboxed processes (HumanEval's final scorer).

    Args:
        answer: The code that defines ``entry_point`` (prompt + completion).
        tests: The code that defines ``check(candidate)`` (prompt + the problem's tests).
        entry_point: The function under test.
        timeout_s: Wall-clock limit of the pair; at the limit both are killed.
        sandbox: Sandbox backend name (None: bubblewrap where it can run).
    """
    from importlib.resources import files as package_files

    checker = package_files("posttrainbench.benchmarks").joinpath("_split_check.py")
    sentinel = secrets.token_hex(16)
    return run_python(
        checker.read_text(encoding="utf-8"),
        timeout_s,
        sandbox=sandbox,
        files={
            "answer.py": answer,
            "tests.py": tests,
            "entry_point": entry_point,
            "sentinel": sentinel,
        },
        args=("check", "{dir}"),
        sentinel=sentinel,
    )
