"""Commands that publish and watch results: ``plots``, ``site``, ``serve``, ``import-upstream``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from posttrainbench.cli._app import Experiment, RunsDir, app, console, log, nothing_found
from posttrainbench.errors import UserError

if TYPE_CHECKING:
    from posttrainbench.results import Leaderboard, ResultStore, TrialResult

PANEL = "Results"

OutDir = Annotated[Path, typer.Argument(file_okay=False, help="Folder to write into.")]
Weights = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        dir_okay=False,
        help="JSON/TOML {benchmark: weight}; default: store baselines, else the paper's.",
    ),
]


def _board(
    runs_dir: Path, experiment: str | None, weights: Path | None
) -> tuple[ResultStore, list[TrialResult], Leaderboard]:
    from posttrainbench.results import ResultStore, aggregate, resolve_weights
    from posttrainbench.trial import index_path

    store = ResultStore(index_path(runs_dir))
    results = store.results(experiment)
    if not results:
        raise UserError(nothing_found(runs_dir))
    return store, results, aggregate(results, resolve_weights(results, weights))


@app.command(rich_help_panel=PANEL)
def plots(
    out: OutDir,
    runs_dir: RunsDir = Path("runs"),
    experiment: Experiment = None,
    weights: Weights = None,
) -> None:
    """Leaderboard figures as PNG and SVG: main chart, per benchmark, time, budgets."""
    from posttrainbench.results import write_plots

    _, _, board = _board(runs_dir, experiment, weights)

    def skipped(name: str, why: str) -> None:
        log(f"not drawn: {name} ({why})")

    for path in write_plots(board, out, on_skip=skipped):
        log(f"wrote {path}")


@app.command(rich_help_panel=PANEL)
def site(
    out: OutDir,
    runs_dir: RunsDir = Path("runs"),
    experiment: Experiment = None,
    weights: Weights = None,
    title: Annotated[str, typer.Option(help="Title of the site.")] = "PostTrainBench",
) -> None:
    """A static site: leaderboard, per-benchmark breakdown, time & cost, a page per trial."""
    from posttrainbench.results import TrialFiles, build_site
    from posttrainbench.trial import TrialPaths

    store, results, board = _board(runs_dir, experiment, weights)
    run_dirs = {row.trial_id: Path(row.run_dir) for row in store.trials(experiment)}

    def files_of(result: TrialResult) -> TrialFiles | None:
        run_dir = run_dirs.get(result.trial_id)
        return TrialPaths(run_dir) if run_dir is not None else None

    pages = build_site(board, results, out, files_of, title=title)
    console.print(f"wrote {pages} pages: open {out / 'index.html'}")


@app.command(rich_help_panel=PANEL)
def serve(
    runs_dir: RunsDir = Path("runs"),
    experiment: Experiment = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8765,
    interval: Annotated[float, typer.Option(help="Seconds between page refreshes.")] = 5.0,
) -> None:
    """Live dashboard of running trials: phase, time left, CPU/GPU use, latest steps."""
    from posttrainbench.results import ResultStore
    from posttrainbench.trial import index_path
    from posttrainbench.web import serve as make_server

    if interval <= 0:
        raise UserError("--interval must be positive.")
    try:
        server = make_server(
            ResultStore(index_path(runs_dir)),
            host=host,
            port=port,
            experiment=experiment,
            interval_s=interval,
        )
    except OSError as error:
        raise UserError(f"Cannot listen on {host}:{port}: {error.strerror}.") from error
    console.print(f"dashboard at {server.url} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command("import-upstream", rich_help_panel=PANEL)
def import_upstream_command(
    source: Annotated[
        Path, typer.Argument(file_okay=False, help="Folder of upstream {agent}_{config}_{H}h runs.")
    ],
    runs_dir: RunsDir = Path("runs"),
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="Experiment name to file them under.")
    ] = "upstream",
) -> None:
    """Import results in the upstream PostTrainBench layout into the store."""
    from posttrainbench.results import ResultStore, import_upstream
    from posttrainbench.trial import index_path

    report = import_upstream(source, ResultStore(index_path(runs_dir)), experiment)
    console.print(f"imported {report.imported} trial results as experiment '{experiment}'")
    for reason, count in sorted(report.fallbacks.items()):
        console.print(f"  fallback ({reason}): {count}")
    for line in report.skipped:
        console.print(f"[yellow]skipped[/yellow] {line}")
