"""Installing the agent CLIs from npm at pinned versions, and finding them afterwards.

CLIs go into one npm prefix (``~/.cache/posttrainbench/npm`` unless ``PTB_NPM_PREFIX``
says otherwise); the harness looks for a scaffold's binary there first, then on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from posttrainbench.errors import UserError

__all__ = ["cli_version", "find_binary", "install_cli", "npm_prefix"]


def npm_prefix() -> Path:
    """Where ``ptb agents install`` puts the CLIs (env ``PTB_NPM_PREFIX``)."""
    configured = os.environ.get("PTB_NPM_PREFIX")
    if configured:
        return Path(configured).expanduser().absolute()
    return Path.home() / ".cache" / "posttrainbench" / "npm"


def find_binary(name: str, prefix: Path | None = None) -> Path | None:
    """The executable ``name`` from the npm prefix, else from PATH, else None."""
    local = (prefix or npm_prefix()) / "node_modules" / ".bin" / name
    if local.exists() and os.access(local, os.X_OK):
        return local.absolute()
    found = shutil.which(name)
    return Path(found).absolute() if found else None


def cli_version(binary: Path, timeout_s: float = 30.0) -> str | None:
    """What ``binary --version`` prints (first line), or None when it does not run."""
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if done.returncode == 0 and text else None


def install_cli(package: str, version: str, prefix: Path | None = None) -> Path:
    """``npm install`` ``package@version`` into the prefix; returns the prefix."""
    npm = shutil.which("npm")
    if npm is None:
        raise UserError(
            "npm is not installed: install Node.js 20+ and npm (e.g. apt-get install nodejs npm)."
        )
    target = prefix or npm_prefix()
    target.mkdir(parents=True, exist_ok=True)
    argv = [
        npm,
        "install",
        "--no-audit",
        "--no-fund",
        "--prefix",
        str(target),
        f"{package}@{version}",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UserError(f"npm install {package}@{version} failed:\n{done.stderr.strip()[-2000:]}")
    return target
