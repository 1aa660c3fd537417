"""Provenance recorded with every trial: versions, host, harness revision."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path

import posttrainbench
from posttrainbench.trial.records import Provenance

__all__ = ["provenance"]

_PACKAGES = ("posttrainbench", "torch", "transformers", "trl", "inspect-ai", "datasets")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_revision() -> str | None:
    source = Path(posttrainbench.__file__).resolve().parent
    try:
        completed = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() or None if completed.returncode == 0 else None


def provenance() -> Provenance:
    """Versions of the harness and its key dependencies, Python, host and git revision."""
    return Provenance(
        packages={name: _version(name) for name in _PACKAGES},
        python=platform.python_version(),
        platform=platform.platform(),
        host=platform.node(),
        harness_git_revision=_git_revision(),
    )
