"""Executors: where trials run (this host, or a cluster). Trial code is the same everywhere."""

from posttrainbench.executors.base import Executor, executor_for, executor_named
from posttrainbench.executors.experiment import (
    ExperimentStatus,
    TrialStatus,
    cancel_experiment,
    experiment_status,
    submit_experiment,
)
from posttrainbench.executors.local import LocalQueue, cancel_local, host_gpus
from posttrainbench.executors.trials import check_trials, run_trials

__all__ = [
    "Executor",
    "ExperimentStatus",
    "LocalQueue",
    "TrialStatus",
    "cancel_experiment",
    "cancel_local",
    "check_trials",
    "executor_for",
    "executor_named",
    "experiment_status",
    "host_gpus",
    "run_trials",
    "submit_experiment",
]
