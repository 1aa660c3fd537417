"""Real crashes for resume tests: a trial's worker process that SIGKILLs itself at a point.

The worker runs what a local queue or a cluster job runs for one trial
(``posttrainbench.executors._worker``); ``PTB_FAILPOINTS`` arms the crash
(``trial.failpoints``). Each worker is forked from the harness zygote a local queue forks
its workers from (``trial.eval_process``), so a crash costs the trial's work, not its
imports; it is still a process of its own that really dies by SIGKILL. Resuming is
then any harness's job: tests usually resume in their own process, whose imports and
evaluation zygote are already warm.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from posttrainbench.trial import TrialSpec
from posttrainbench.trial.eval_process import WORKER_ENTRY, harness_zygote

__all__ = ["run_worker_until"]


def run_worker_until(
    failpoint: str, runs_root: Path, spec: TrialSpec, timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``spec`` in a worker process armed to die at ``failpoint``; its completed process.

    ``returncode`` is ``-9`` when the failpoint was reached (the worker killed itself);
    ``stdout`` holds everything the worker printed.
    """
    argv = [str(runs_root), spec.model_dump_json()]
    with tempfile.TemporaryDirectory(prefix="ptb-crash-") as scratch:
        log = Path(scratch) / "worker.log"
        env = {**os.environ, "PTB_FAILPOINTS": failpoint}
        status = harness_zygote(env).run(WORKER_ENTRY, argv, log, timeout_s, env=env)
        output = log.read_text(errors="replace") if log.exists() else ""
    if status is None:
        raise subprocess.TimeoutExpired([WORKER_ENTRY, *argv], timeout_s, output=output)
    return subprocess.CompletedProcess([WORKER_ENTRY, *argv], status, output, "")
