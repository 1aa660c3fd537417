"""Trials: the spec, the run directory, the phases and resuming after a crash."""

from posttrainbench.trial.events import PHASES, EventLog, Phase
from posttrainbench.trial.index import rebuild_index
from posttrainbench.trial.layout import RUN_FORMAT_VERSION, TrialPaths, index_path, trial_dir
from posttrainbench.trial.runner import TrialRunner
from posttrainbench.trial.spec import TrialSpec

__all__ = [
    "PHASES",
    "RUN_FORMAT_VERSION",
    "EventLog",
    "Phase",
    "TrialPaths",
    "TrialRunner",
    "TrialSpec",
    "index_path",
    "rebuild_index",
    "trial_dir",
]
