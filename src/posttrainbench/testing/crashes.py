"""Real crashes for resume tests: a trial's worker process that SIGKILLs itself at a point.

The worker is the process a local queue or a cluster job runs for one trial
(``python -m posttrainbench.executors._worker``); ``PTB_FAILPOINTS`` arms the crash
(``trial.failpoints``). Resuming is then any harness's job: tests usually resume in their
own process, whose imports and evaluation zygote are already warm.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from posttrainbench.trial import TrialSpec

__all__ = ["run_worker_until"]


def run_worker_until(
    failpoint: str, runs_root: Path, spec: TrialSpec, timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``spec`` in a worker process armed to die at ``failpoint``; its completed process.

    ``returncode`` is ``-9`` when the failpoint was reached (the worker killed itself).
    """
    argv = [sys.executable, "-m", "posttrainbench.executors._worker", str(runs_root)]
    return subprocess.run(
        [*argv, spec.model_dump_json()],
        env={**os.environ, "PTB_FAILPOINTS": failpoint},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
