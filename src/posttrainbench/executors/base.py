"""The executor contract: where the trials of an experiment run.

An executor is one module with an :class:`Executor` subclass, named by one line of
``posttrainbench.config.EXECUTORS`` (or by its ``module:Class`` path in the experiment
file). Its ``[executor]`` table is validated by its own ``settings_model``; submitting,
refreshing, reporting and cancelling an experiment all go through this contract, so no
other module knows which executors exist. Trials given one by one (``ptb run --agent``,
the demo, the baselines) go through it too (:func:`executor_named`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from posttrainbench.config import ExecutorSettings
from posttrainbench.errors import UserError

if TYPE_CHECKING:
    from posttrainbench.config import LoadedExperiment
    from posttrainbench.trial import TrialSpec

__all__ = ["Executor", "executor_for", "executor_named"]


class Executor(ABC):
    """Runs, watches and cancels the trials of one experiment.

    Args:
        settings: The experiment file's ``[executor]`` table, as ``settings_model``.
        specs: Every trial of the experiment (finished ones are skipped by ``run``).
        runs_root: The runs directory the trials write to.
        experiment_dir: The experiment's folder, where executors keep their job records.
        log: Progress messages.
        extra_env: Variables the trial processes get besides the host's (the judge's).
        watch: The caller watches these trials from a terminal: pass on what they print
            as it comes, and let them end with the caller (where the executor can).
        echo_agent: What the trials print includes each line their agent prints (demos).
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
        watch: bool = False,
        echo_agent: bool = False,
    ) -> None:
        self.settings = settings
        self.specs = list(specs)
        self.runs_root = runs_root
        self.experiment_dir = experiment_dir
        self.log = log
        self.extra_env = dict(extra_env or {})
        self.watch = watch
        self.echo_agent = echo_agent

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


def executor_named(
    name: str,
    specs: Sequence[TrialSpec],
    runs_root: Path,
    experiment_dir: Path,
    *,
    log: Callable[[str], None] = print,
    extra_env: Mapping[str, str] | None = None,
    watch: bool = False,
    echo_agent: bool = False,
    settings: Mapping[str, object] | None = None,
) -> Executor:
    """Executor ``name`` (a registry name or ``module:Class``) with its default settings.

    ``settings`` overrides some of them (as keys of an experiment file's ``[executor]``).

    Raises:
        UserError: The name is unknown, or the executor has settings without defaults.
    """
    from pydantic import ValidationError

    from posttrainbench.config import EXECUTORS

    kind: type[Executor] = EXECUTORS.resolve(name)
    try:
        validated = kind.settings_model.model_validate({**(settings or {}), "type": name})
    except ValidationError as error:
        needed = ", ".join(".".join(map(str, problem["loc"])) for problem in error.errors())
        raise UserError(
            f"The {name} executor needs settings ({needed}): name them in the [executor] "
            "table of an experiment file and run that with `ptb run FILE`."
        ) from error
    return kind(
        validated,
        specs,
        runs_root,
        experiment_dir,
        log=log,
        extra_env=extra_env,
        watch=watch,
        echo_agent=echo_agent,
    )
