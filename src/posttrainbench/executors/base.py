"""The executor contract: where the trials of an experiment run.

An executor is one module with an :class:`Executor` subclass, named by one line of
``posttrainbench.config.EXECUTORS`` (or by its ``module:Class`` path in the experiment
file). Its ``[executor]`` table is validated by its own ``settings_model``; submitting,
refreshing, reporting and cancelling an experiment all go through this contract, so no
other module knows which executors exist.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from posttrainbench.config import ExecutorSettings

if TYPE_CHECKING:
    from posttrainbench.config import LoadedExperiment
    from posttrainbench.trial import TrialSpec

__all__ = ["Executor", "executor_for"]


class Executor(ABC):
    """Runs, watches and cancels the trials of one experiment.

    Args:
        settings: The experiment file's ``[executor]`` table, as ``settings_model``.
        specs: Every trial of the experiment (finished ones are skipped by ``run``).
        runs_root: The runs directory the trials write to.
        experiment_dir: The experiment's folder, where executors keep their job records.
        log: Progress messages.
        extra_env: Variables the trial processes get besides the host's (the judge's).
    """

    settings_model: ClassVar[type[ExecutorSettings]]
    """The pydantic model of this executor's ``[executor]`` table."""

    def __init__(
        self,
        settings: ExecutorSettings,
        specs: Sequence[TrialSpec],
        runs_root: Path,
        experiment_dir: Path,
        *,
        log: Callable[[str], None] = print,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.specs = list(specs)
        self.runs_root = runs_root
        self.experiment_dir = experiment_dir
        self.log = log
        self.extra_env = dict(extra_env or {})

    @abstractmethod
    def run(self, *, wait: bool = True) -> None:
        """Run or resume every unfinished trial; with ``wait``, until all have ended."""

    def refresh(self) -> None:  # noqa: B027 - an optional hook with a do-nothing default
        """Bring the job records up to date with the scheduler (default: nothing to ask)."""

    @classmethod
    @abstractmethod
    def cancel(cls, experiment_dir: Path) -> list[str]:
        """Stop the experiment's queued and running trials; returns the ids stopped."""


def executor_for(
    loaded: LoadedExperiment,
    *,
    log: Callable[[str], None] = print,
    extra_env: Mapping[str, str] | None = None,
) -> Executor:
    """The executor the experiment file names, set up for its trials."""
    from posttrainbench.config import EXECUTORS

    kind: type[Executor] = EXECUTORS.resolve(loaded.config.executor.type)
    return kind(
        loaded.config.executor,
        loaded.trial_specs(),
        loaded.runs_root,
        loaded.experiment_dir,
        log=log,
        extra_env=extra_env,
    )
