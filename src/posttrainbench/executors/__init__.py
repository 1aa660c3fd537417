"""Executors: where trials run (this host now; clusters later). Trial code is the same."""

from posttrainbench.executors.local import run_local

__all__ = ["run_local"]
