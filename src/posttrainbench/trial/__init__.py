"""Trials: spec, run directory and records, phases, lifecycle events, resume after a crash."""

from posttrainbench.trial.events import PHASES, EventLog, Phase
from posttrainbench.trial.index import rebuild_index
from posttrainbench.trial.layout import RUN_FORMAT_VERSION, TrialPaths, index_path, trial_dir
from posttrainbench.trial.lifecycle import EventKind, Subscriber, TrialEvent
from posttrainbench.trial.runner import TrialRunner
from posttrainbench.trial.spec import TrialSpec

__all__ = [
    "PHASES",
    "RUN_FORMAT_VERSION",
    "EventKind",
    "EventLog",
    "Phase",
    "Subscriber",
    "TrialEvent",
    "TrialPaths",
    "TrialRunner",
    "TrialSpec",
    "index_path",
    "rebuild_index",
    "trial_dir",
]
