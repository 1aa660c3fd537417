"""Executor tests share helpers (executor_helpers.py) and a loopback SLURM (slurm_cluster.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# Test modules here are imported by path (--import-mode=importlib): make the helpers importable.
sys.path.insert(0, str(Path(__file__).parent))
