"""Fake agent CLIs that replay a recorded stream, for tests of scaffolds without the real CLI.

``install_fake_cli`` writes an executable named like the real CLI (``claude``, ``codex``...)
into ``<prefix>/node_modules/.bin``, where the harness looks for agent CLIs (point
``PTB_NPM_PREFIX`` at the prefix). When run, it reads its prompt from stdin, prints the
recorded stream line by line with ``${VAR}`` replaced from its environment (so a test can
plant the keys the harness passed in and check they never reach disk), then runs the given
shell commands (e.g. one that writes ``final_model/``). Started with resume arguments
(``--resume``, ``resume``, ``--session``) it prints ``resume_lines`` instead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["install_fake_cli"]

_SCRIPT = """#!{python}
import os, string, subprocess, sys
sys.stdin.read()
resumed = any(arg in ("--resume", "resume", "--session") for arg in sys.argv[1:])
if "--version" in sys.argv[1:]:
    print("{version} (fake)")
    sys.exit(0)
with open(os.path.join(os.environ.get("HOME", "."), ".fake-cli-argv"), "a") as log:
    log.write(repr(sys.argv[1:]) + "\\n")
for line in ({resume_lines} if resumed else {lines}):
    print(string.Template(line).safe_substitute(os.environ), flush=True)
for command in ([] if resumed else {commands}):
    subprocess.run(command, shell=True, check=True)
"""


def install_fake_cli(
    prefix: Path,
    binary: str,
    lines: Sequence[str],
    *,
    commands: Sequence[str] = (),
    resume_lines: Sequence[str] = (),
    version: str = "0.0.0",
) -> Path:
    """Write the fake ``binary`` under ``prefix``; returns its path."""
    target = prefix / "node_modules" / ".bin" / binary
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        _SCRIPT.format(
            python=sys.executable,
            version=version,
            lines=json.dumps(list(lines)),
            resume_lines=json.dumps(list(resume_lines)),
            commands=json.dumps(list(commands)),
        )
    )
    target.chmod(0o755)
    return target
