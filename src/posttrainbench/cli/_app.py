"""The Typer app every command module registers on, and the options they share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from posttrainbench.runs import RUNS_DIR_ENV, RUNS_DIR_NAME, RunsLayout

__all__ = [
    "AsJson",
    "Experiment",
    "RunsDir",
    "app",
    "console",
    "err_console",
    "log",
    "nothing_found",
    "split_agent",
]

app = typer.Typer(
    name="ptb",
    help="PostTrainBench: can an LLM agent post-train a base model on its own?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_FILE_WIDTH = 200
"""Columns of output that goes to a file or pipe: wide enough that paths are not split."""


class _CliConsole(Console):
    """A console that wraps at the terminal's width, and not at 80 columns in a file.

    The width is decided at each print, from the stream and ``$COLUMNS`` of that moment,
    not once at import: the module is imported long before output may be redirected.
    """

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, highlight=False)
        self._width = None  # Console froze $COLUMNS of import time here

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size; ``_FILE_WIDTH`` columns for a file or pipe without $COLUMNS."""
        size = Console.size.fget(self)  # type: ignore[attr-defined]
        if not self.file.isatty() and "COLUMNS" not in os.environ:
            return ConsoleDimensions(_FILE_WIDTH, size.height)
        return size  # type: ignore[no-any-return]

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


def _console(*, stderr: bool = False) -> Console:
    return _CliConsole(stderr=stderr)


console = _console()
err_console = _console(stderr=True)


def _resolve_runs_dir(value: Path | None) -> Path:
    # An explicit --runs-dir or PTB_RUNS_DIR is taken as given; only the default searches.
    return RunsLayout.resolve(value).root


RunsDir = Annotated[
    Path,
    typer.Option(
        "--runs-dir",
        envvar=RUNS_DIR_ENV,
        callback=_resolve_runs_dir,
        help=f"Folder holding run directories and the index (env {RUNS_DIR_ENV}; default: "
        f"the nearest {RUNS_DIR_NAME}/ in this folder or above).",
    ),
]
Experiment = Annotated[str | None, typer.Option("--experiment", "-e", help="Only this experiment.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def nothing_found(runs_dir: Path, what: str = "trial results") -> str:
    """The message of an empty answer: where the command looked, and what to run."""
    where = runs_dir if runs_dir.is_absolute() else Path.cwd() / runs_dir
    return (
        f"No {what} in {where}. Run `ptb demo` (or `ptb run ...`) to make some, or point "
        f"--runs-dir / {RUNS_DIR_ENV} at the runs folder that holds them."
    )


def log(message: str) -> None:
    console.print(f"[dim]•[/dim] {escape(message)}")


def split_agent(agent: str) -> tuple[str, str]:
    from posttrainbench.agents import split_agent as split

    return split(agent)
