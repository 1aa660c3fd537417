"""The Typer app every command module registers on, and the options they share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["AsJson", "Experiment", "RunsDir", "app", "console", "err_console", "log", "split_agent"]

app = typer.Typer(
    name="ptb",
    help="PostTrainBench: can an LLM agent post-train a base model on its own?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

RunsDir = Annotated[
    Path,
    typer.Option(
        "--runs-dir",
        envvar="PTB_RUNS_DIR",
        help="Folder holding run directories and the index (env PTB_RUNS_DIR).",
    ),
]
Experiment = Annotated[str | None, typer.Option("--experiment", "-e", help="Only this experiment.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def log(message: str) -> None:
    console.print(f"[dim]•[/dim] {escape(message)}")


def split_agent(agent: str) -> tuple[str, str]:
    from posttrainbench.agents import split_agent as split

    return split(agent)
