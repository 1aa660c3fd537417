"""Real crashes for resume tests: a trial's worker process that SIGKILLs itself at a point.

The worker is the process a local queue or a cluster job runs for one trial
(``python -m posttrainbench.executors._worker``); ``PTB_FAILPOINTS`` arms the crash
(``trial.failpoints``). Resuming is then any harness's job: tests usually resume in their
own process, whose imports and evaluation zygote are already warm.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from posttrainbench.executors._state import worker_argv
from posttrainbench.trial import TrialSpec

__all__ = ["run_worker_until"]


def run_worker_until(
    failpoint: str, runs_root: Path, spec: TrialSpec, timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``spec`` in a worker process armed to die at ``failpoint``; its completed process.

    ``returncode`` is ``-9`` when the failpoint was reached (the worker killed itself).
    """
    return subprocess.run(
        worker_argv(runs_root, spec),
        env={**os.environ, "PTB_FAILPOINTS": failpoint},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
