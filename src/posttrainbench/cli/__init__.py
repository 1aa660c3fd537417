"""``ptb``: the command line, a thin layer over the Python API.

Each module of this package registers its commands on the shared app (``_app.app``);
importing it here is what puts the commands on the command line.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from posttrainbench._process_exit import exiting_now
from posttrainbench.cli._app import app, err_console
from posttrainbench.errors import TrialFailed, UserError

__all__ = ["app", "main", "print_error"]

_COMMAND_MODULES = (
    "trials",
    "experiments",
    "baselines",
    "audit",
    "lineage",
    "data",
    "results",
    "publish",
    "export",
    "agents",
)
for _module in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

# `ptb --help` lists panels, and commands within them, in registration order: put the
# everyday ones first.
_PANELS = ("Trials", "Benchmarks", "Results", "Agents")
_FIRST = ("demo", "run", "status", "cancel")


def _help_position(command: typer.models.CommandInfo) -> tuple[int, int]:
    panel = command.rich_help_panel
    name = command.name or (command.callback.__name__ if command.callback else "")
    return (
        _PANELS.index(panel) if panel in _PANELS else len(_PANELS),
        _FIRST.index(name) if name in _FIRST else len(_FIRST),
    )


app.registered_commands.sort(key=_help_position)


def print_error(error: UserError, console: Console = err_console) -> None:
    """``Error: <message>``, the message printed as written (``[extra]`` is not markup)."""
    console.print(f"[bold red]Error:[/bold red] {escape(str(error))}")


def _exit_as(code: int) -> None:
    """Exit with ``code``; a negative one is the signal the trial's process died of."""
    if code < 0:
        sys.stdout.flush()
        sys.stderr.flush()
        if -code != signal.SIGKILL:
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


def main() -> None:
    """Entry point: user errors become one clear message and exit code 2.

    A trial that ended without a result (a crash, a kill) makes ``ptb`` exit as the
    trial's process did, after saying which trial and where its output is. The process
    ends without tearing down its modules (``_process_exit``).
    """
    with exiting_now():
        try:
            app()
        except TrialFailed as failed:
            err_console.print(f"[bold red]Error:[/bold red] {escape(str(failed))}")
            _exit_as(failed.exit_code)
        except UserError as error:
            print_error(error)
            sys.exit(2)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
            )
            err_console.print(
                f"[bold red]Error:[/bold red] invalid trial options: {escape(problems)}"
            )
            sys.exit(2)
