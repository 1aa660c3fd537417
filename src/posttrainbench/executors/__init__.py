"""Executors: where trials run (this host, or a cluster). Trial code is the same everywhere."""

from posttrainbench.executors.base import Executor, executor_for
from posttrainbench.executors.experiment import (
    ExperimentStatus,
    TrialStatus,
    cancel_experiment,
    experiment_status,
    submit_experiment,
)
from posttrainbench.executors.local import LocalQueue, cancel_local, host_gpus, run_local

__all__ = [
    "Executor",
    "ExperimentStatus",
    "LocalQueue",
    "TrialStatus",
    "cancel_experiment",
    "cancel_local",
    "executor_for",
    "experiment_status",
    "host_gpus",
    "run_local",
    "submit_experiment",
]
