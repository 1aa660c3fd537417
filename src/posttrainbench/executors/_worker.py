"""One trial in its own process: what the local queue and cluster jobs run.

Usage: ``python -m posttrainbench.executors._worker RUNS_ROOT SPEC_JSON [--echo-agent]``, or
``main`` called in a process forked from a warm zygote (``executors._worker_zygote``).
SIGTERM ends the trial cleanly (the sandbox kills the agent's whole tree on the way out);
running the same command again resumes the trial from its last finished phase.

The exit code says how it ended: 0 when the trial finished, ``_state.USER_ERROR_EXIT`` when
a mistake the user can fix stopped it (the message is the last thing printed, after
``_state.ERROR_PREFIX``; ``_state.user_error`` reads it back), anything else on a harness
failure. Nothing in the package imports this module but the zygotes that fork workers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from posttrainbench._process_exit import exit_now
from posttrainbench._termination import stop_on_sigterm
from posttrainbench.errors import UserError
from posttrainbench.executors._state import ECHO_AGENT, ERROR_PREFIX, USER_ERROR_EXIT
from posttrainbench.trial import TrialRunner, TrialSpec
from posttrainbench.trial.eval_process import fork_zygote_here

__all__ = ["main", "run_trial", "run_trial_job"]


def run_trial(runs_root: str, spec_json: str, *, echo_agent: bool = False) -> float | None:
    """Run (or resume) the trial ``spec_json`` under ``runs_root``; returns its score."""
    spec = TrialSpec.model_validate_json(spec_json)
    runner = TrialRunner(
        spec, Path(runs_root), log=lambda line: print(line, flush=True), echo_agent=echo_agent
    )
    return runner.run().score


def run_trial_job(runs_root: str, spec_json: str) -> float | None:
    """``run_trial`` inside a cluster job: SIGTERM (scancel, time limit) ends it cleanly."""
    fork_zygote_here()  # a cold process: its imports, once; its evaluations fork from it
    stop_on_sigterm()
    return run_trial(runs_root, spec_json)


def main(argv: list[str]) -> int:
    """Entry point; exit code 0 when the trial finished, 2 on a user error."""
    fork_zygote_here()  # the evaluation's zygote is a fork of this process
    stop_on_sigterm()
    runs_root, spec_json, *flags = argv
    try:
        score = run_trial(runs_root, spec_json, echo_agent=ECHO_AGENT in flags)
    except UserError as error:
        print(f"{ERROR_PREFIX}{error}", flush=True)
        return USER_ERROR_EXIT
    print(f"trial finished: score {score}", flush=True)
    return 0


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
