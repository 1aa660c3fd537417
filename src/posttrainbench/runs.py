"""The runs folder: where each trial's folder lives, the index, and how trials are named.

``runs/`` holds one folder per experiment and, in it, one folder per trial named by its
trial id (``runs/<experiment>/<trial-id>/``, see ``trial.TrialPaths`` for what is inside),
plus the SQLite index (``runs/index.sqlite``). This module sits below every package (it
imports none), so the CLI, executors, trials and results all name these paths one way.

Every command that takes a trial finds it by one rule (:meth:`RunsLayout.find_trial`): a
run directory as a path, or a trial id, or the start of one that names exactly one trial.
Commands that name no runs folder use the nearest ``runs/`` in the current folder or above
it, as git finds ``.git``.

The agent of a trial is shown everywhere as one label, ``name`` or ``name:config``
(:func:`agent_label`), the string ``--agent`` takes: ``agents.split_agent`` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from posttrainbench.errors import UserError

__all__ = [
    "INDEX_NAME",
    "RUNS_DIR_ENV",
    "RUNS_DIR_NAME",
    "TRIAL_RECORD",
    "RunsLayout",
    "agent_label",
    "is_trial_dir",
    "trials_in",
]

RUNS_DIR_NAME = "runs"
"""The runs folder's default name: looked up from the current folder upwards."""
RUNS_DIR_ENV = "PTB_RUNS_DIR"
"""Environment variable naming the runs folder (as ``--runs-dir`` does)."""
INDEX_NAME = "index.sqlite"
"""The SQLite index of a runs folder (rebuilt from the trial folders by ``ptb index``)."""
TRIAL_RECORD = "trial.json"
"""The file every trial folder has from its creation on: what makes a folder a trial."""
_LISTED = 8
"""Candidates named in an "ambiguous" error; the rest are counted."""


def agent_label(name: str, config: str) -> str:
    """The agent as ``--agent`` takes it: ``name``, ``name:config`` or ``name?query``.

    A config that is only a query (``?effort=high``) follows the name directly, so that
    ``agents.split_agent`` reads the label back as ``(name, config)``.
    """
    if not config:
        return name
    return f"{name}{config}" if config.startswith("?") else f"{name}:{config}"


def is_trial_dir(path: Path) -> bool:
    """Whether ``path`` is a trial's folder (it holds the trial record)."""
    return (path / TRIAL_RECORD).is_file()


def trials_in(folder: Path) -> list[Path]:
    """The trial folders at ``folder``: the folder itself, or the trials of an experiment.

    Raises:
        UserError: ``folder`` is not a folder, or holds no trial.
    """
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder: give a trial or experiment folder.")
    trials = _trials_at(folder)
    if not trials:
        raise UserError(f"{folder} holds no trial (no {TRIAL_RECORD} in it or its sub-folders).")
    return trials


def _trials_at(folder: Path) -> list[Path]:
    if is_trial_dir(folder):
        return [folder]
    return sorted(path.parent for path in folder.glob(f"*/{TRIAL_RECORD}"))


@dataclass(frozen=True)
class RunsLayout:
    """One runs folder: its index, its experiments and their trial folders."""

    root: Path
    """The runs folder (``--runs-dir``)."""

    @classmethod
    def nearest(cls, start: Path | None = None) -> RunsLayout:
        """The nearest ``runs`` folder in ``start`` (default: the current folder) or above.

        A ``ptb leaderboard`` run in any sub-folder of a project sees the project's
        ``runs/``. Without one anywhere above, the answer is ``runs`` in ``start`` (created
        only by commands that write). Found in the current folder itself, it stays relative.
        """
        here = (start or Path.cwd()).absolute()
        for folder in (here, *here.parents):
            candidate = folder / RUNS_DIR_NAME
            if candidate.is_dir():
                return cls(candidate if folder != Path.cwd() else Path(RUNS_DIR_NAME))
        return cls(Path(RUNS_DIR_NAME))

    @classmethod
    def resolve(cls, given: Path | None) -> RunsLayout:
        """The runs folder a command uses: ``given`` as it is, or else the nearest ``runs/``.

        ``given`` is ``--runs-dir`` or ``PTB_RUNS_DIR``; None or the bare default name
        ``runs`` means "not chosen", and is looked up like :meth:`nearest`.
        """
        if given is None or given == Path(RUNS_DIR_NAME):
            return cls.nearest()
        return cls(given)

    @property
    def index(self) -> Path:
        """The SQLite index of this runs folder."""
        return self.root / INDEX_NAME

    @property
    def base_scores(self) -> Path:
        """The base models' scores, computed once per model and benchmark and cached."""
        return self.root / ".baselines"

    def experiment_dir(self, experiment: str) -> Path:
        """The folder of an experiment's trials (and of its executor's job records)."""
        return self.root / experiment

    def trial_dir(self, experiment: str, trial_id: str) -> Path:
        """The folder of trial ``trial_id`` of ``experiment``."""
        return self.experiment_dir(experiment) / trial_id

    def trial_dirs(self) -> list[Path]:
        """Every trial folder of every experiment, sorted by experiment and id."""
        return sorted(path.parent for path in self.root.glob(f"*/*/{TRIAL_RECORD}"))

    def find_trial(self, ref: str) -> Path:
        """The one trial ``ref`` names: a run directory, or a trial id or a prefix of one.

        An id may be written ``experiment/id`` to pick one of several experiments. A full id
        is taken over the longer ids it is a prefix of.

        Raises:
            UserError: No trial matches, or several do (the error lists them).
        """
        if ref and is_trial_dir(Path(ref)):
            return Path(ref)
        experiment, _, prefix = ref.rpartition("/")
        matches = [
            path
            for path in self.trial_dirs()
            if prefix
            and path.name.startswith(prefix)
            and (not experiment or path.parent.name == experiment)
        ]
        exact = [path for path in matches if path.name == prefix]
        if len(exact) == 1:
            return exact[0]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UserError(
                f"No trial '{ref}' in {self.root}: give a run directory, or a trial id (or "
                "the start of one) under --runs-dir; `ptb status` lists the trials."
            )
        listed = [f"{path.parent.name}/{path.name}" for path in matches[:_LISTED]]
        more = f" and {len(matches) - _LISTED} more" if len(matches) > _LISTED else ""
        raise UserError(
            f"'{ref}' matches {len(matches)} trials: {', '.join(listed)}{more}. Give more of "
            "the id, or experiment/id."
        )

    def select(self, target: str) -> list[Path]:
        """The trials ``target`` names: a run or experiment folder, an experiment, or a trial.

        A folder is taken as it is; a plain name that is an experiment of this runs folder
        names all its trials; anything else is one trial by :meth:`find_trial`.

        Raises:
            UserError: ``target`` names nothing, or several trials by an ambiguous prefix.
        """
        if target and (found := _trials_at(Path(target))):
            return found
        if target and "/" not in target and (found := _trials_at(self.experiment_dir(target))):
            return found
        return [self.find_trial(target)]
