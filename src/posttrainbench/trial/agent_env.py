"""The agent's environment: an explicit allow-list, nothing inherited from the host."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from posttrainbench.errors import UserError

__all__ = ["agent_environment"]

# Offline switches are copied so that an offline host stays offline inside the sandbox.
_PASSTHROUGH = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def agent_environment(
    workspace: Path,
    gpus: int,
    scaffold_keys: Sequence[str],
    extra: Mapping[str, str],
    host: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Variables the agent gets: basics, offline switches, and the keys its scaffold needs.

    A key the scaffold needs but the host lacks is a user error, reported before the
    agent starts. Judge and evaluation keys are never in ``scaffold_keys``.
    """
    host = os.environ if host is None else host
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workspace),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp",
        "PYTHONUNBUFFERED": "1",
        "HF_HOME": str(workspace / ".cache" / "huggingface"),
        "CUDA_VISIBLE_DEVICES": ",".join(str(index) for index in range(gpus)),
    }
    env.update({key: host[key] for key in _PASSTHROUGH if key in host})
    missing = [key for key in scaffold_keys if not host.get(key)]
    if missing:
        raise UserError(
            f"The agent needs {', '.join(missing)} in the environment; set "
            f"{'it' if len(missing) == 1 else 'them'} before running the trial."
        )
    env.update({key: host[key] for key in scaffold_keys})
    env.update(extra)
    return env
