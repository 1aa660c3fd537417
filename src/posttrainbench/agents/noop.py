"""Entry point of the ``noop`` agent: copy the base model into final_model."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``python -m posttrainbench.agents.noop BASE_MODEL FINAL_MODEL``."""
    source, target = (Path(arg) for arg in (argv or sys.argv[1:]))
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    # Copy, following symlinks, so the submission does not point into the read-only cache.
    shutil.copytree(source, staging, symlinks=False, ignore=shutil.ignore_patterns(".*"))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    print(f"noop: copied {source} to {target}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
