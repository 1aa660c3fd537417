"""Trials given one by one (``ptb run --agent ...``, the demo, the baselines) on an executor.

They go through the same executor and queue as an experiment file's trials: GPU slots, the
judge's settings (read once from ``PTB_JUDGE_*`` here, as an experiment file's ``[judge]``
table), job records beside the trials, resuming, and never running a finished trial twice.
The caller watches them: what they print is passed on as it comes, and they end with it.

Every spec is checked (agent, benchmark, model, sandbox, a trial another harness holds)
before anything starts, so a typo in the last one does not surface hours later.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from posttrainbench.errors import TrialFailed, UserError
from posttrainbench.executors._state import USER_ERROR_EXIT, StateDir, user_error
from posttrainbench.executors.base import executor_named
from posttrainbench.judge import JudgeSettings
from posttrainbench.results import TrialResult
from posttrainbench.runs import RunsLayout
from posttrainbench.trial import EventLog, Phase, TrialPaths, TrialRunner, TrialSpec, trial_dir
from posttrainbench.trial.lock import TrialLock

__all__ = ["check_trials", "run_trials"]


def check_trials(specs: Sequence[TrialSpec], runs_root: Path) -> None:
    """Raise the ``UserError`` of the first spec that cannot run, before anything starts.

    Raises:
        UserError: An unknown agent, benchmark or sandbox, a missing model or agent CLI, a
            trial folder written by another run format or for another spec.
        TrialBusyError: Another harness is running one of the trials.
    """
    for spec in specs:
        runner = TrialRunner(spec, runs_root)  # validates everything a user names
        runner.check_existing()  # a folder of another run format or spec
        paths = runner.paths
        TrialLock(paths.lock, spec.trial_id, paths.events).ensure_free()


def run_trials(
    specs: Sequence[TrialSpec],
    runs_root: Path,
    *,
    executor: str = "local",
    log: Callable[[str], None] = print,
    echo_agent: bool = False,
    executor_settings: Mapping[str, object] | None = None,
) -> list[TrialResult]:
    """Run (or resume) ``specs`` on ``executor`` and return their results, in order.

    Args:
        specs: The trials; finished ones are not run again (their result is returned).
        runs_root: The runs folder.
        executor: A name of ``config.EXECUTORS`` or a ``module:Class`` path.
        log: Progress, and each line the trials print.
        echo_agent: The trials also print each line their agents print (demos).
        executor_settings: Settings of the executor other than its defaults (``slots``).

    Raises:
        UserError: A spec cannot run, or a trial stopped on a user error (its message).
        TrialFailed: A trial ended without a result for another reason.
    """
    check_trials(specs, runs_root)
    judge_env = JudgeSettings.from_env().to_env(os.environ)
    layout = RunsLayout(runs_root)
    for experiment in dict.fromkeys(spec.experiment for spec in specs):
        executor_named(
            executor,
            [spec for spec in specs if spec.experiment == experiment],
            runs_root,
            layout.experiment_dir(experiment),
            log=log,
            extra_env=judge_env,
            watch=True,
            echo_agent=echo_agent,
            settings=executor_settings,
        ).run(wait=True)
    return [_result(spec, runs_root, executor) for spec in specs]


def _result(spec: TrialSpec, runs_root: Path, executor: str) -> TrialResult:
    paths = TrialPaths(trial_dir(runs_root, spec))
    # Finished means finalize ended: its result.json is written just before that end, so a
    # worker killed in between left a result but not a finished trial (it resumes next time).
    if paths.result.is_file() and EventLog(paths.events).ended(Phase.FINALIZE) is not None:
        return TrialResult.load(paths.result)
    state = StateDir(RunsLayout(runs_root).experiment_dir(spec.experiment))
    record = state.load(spec.trial_id, executor)
    output = state.log_path(spec.trial_id)
    if record.exit_code == USER_ERROR_EXIT and output.is_file():
        message = user_error(output.read_text(errors="replace"))
        if message:
            raise UserError(message)
    where = f" (its output: {output})" if output.is_file() else ""
    raise TrialFailed(
        f"trial {spec.trial_id} did not finish: {record.reason or 'no result'}{where}",
        record.exit_code or 1,
    )
