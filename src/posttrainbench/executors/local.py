"""The local executor: trials one after another on this host."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from posttrainbench.results import TrialResult
from posttrainbench.trial import TrialRunner, TrialSpec

__all__ = ["run_local"]


def run_local(
    specs: Sequence[TrialSpec],
    runs_root: Path,
    log: Callable[[str], None] = print,
    *,
    echo_agent: bool = False,
) -> list[TrialResult]:
    """Run (or resume) each trial in turn; finished trials return their stored result.

    Every spec is validated (agent, benchmark, model, sandbox) before the first trial
    starts, so a typo in the last one does not surface hours later.
    """
    runners = [TrialRunner(spec, runs_root, log=log, echo_agent=echo_agent) for spec in specs]
    results = []
    for number, runner in enumerate(runners, start=1):
        log(f"trial {number}/{len(runners)}: {runner.spec.trial_id}")
        results.append(runner.run())
    return results
