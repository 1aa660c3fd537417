"""Benchmark data and evaluation: ``data status``, ``data fetch``, ``eval``, ``rescore``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from posttrainbench.cli._app import AsJson, app, console, log
from posttrainbench.errors import UserError

if TYPE_CHECKING:
    from posttrainbench.benchmarks import Benchmark

PANEL = "Benchmarks"

data_app = typer.Typer(
    help="Benchmark datasets: which are available offline, and fetching them.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data", rich_help_panel=PANEL)

BenchmarkIds = Annotated[
    list[str] | None,
    typer.Argument(help="Benchmark ids (default: every benchmark that reads data)."),
]


def _benchmarks(ids: list[str] | None) -> list[Benchmark]:
    from posttrainbench.benchmarks import BENCHMARKS, get_benchmark

    if ids:
        return [get_benchmark(name) for name in ids]
    return [get_benchmark(name) for name in BENCHMARKS.names()]


@data_app.command("status")
def data_status(ids: BenchmarkIds = None, as_json: AsJson = False) -> None:
    """Which benchmark datasets are available offline, at which revision, and where."""
    from rich.table import Table

    rows = [
        (benchmark.id, source.status())
        for benchmark in _benchmarks(ids)
        for source in benchmark.data_sources
        if source.fetched
    ]
    if as_json:
        payload = [{"benchmark": bid, **status.model_dump()} for bid, status in rows]
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title="Benchmark data")
    for column in ("benchmark", "source", "revision", "status", "location"):
        table.add_column(column)
    for bid, status in rows:
        state = "[green]available[/green]" if status.available else "[red]missing[/red]"
        if status.refused:
            state = "[red]changed[/red]"
        where = status.location or ", ".join(status.missing)
        table.add_row(bid, status.source, status.revision[:12], state, escape(where))
    console.print(table)
    for _, status in rows:
        for reason in status.refused:
            console.print(f"[red]{escape(reason)}[/red]")
    if any(not status.available for _, status in rows):
        console.print("Fetch missing data on a machine with internet: ptb data fetch [IDS]")


@data_app.command("fetch")
def data_fetch(
    ids: BenchmarkIds = None,
    lock: Annotated[
        Path | None,
        typer.Option(
            help="Also write the lock entries to this file (a project copy; evaluation "
            "reads it when PTB_DATA_LOCK points at it).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Download benchmark datasets at their pinned revisions and lock them (data.lock)."""
    from posttrainbench.benchmarks.data import data_cache_dir, record_lock
    from posttrainbench.progress import Progress

    sources = [
        (benchmark, source)
        for benchmark in _benchmarks(ids)
        for source in benchmark.data_sources
        if source.fetched
    ]
    if ids and not sources:
        raise UserError(f"{', '.join(ids)}: no data to fetch (synthetic benchmarks).")
    log(f"data cache: {data_cache_dir()}")
    with Progress("data", len(sources), unit="sources", console=console) as progress:
        for benchmark, source in sources:
            progress.update(progress.done, info=f"fetching {benchmark.id}")
            entry = source.fetch()
            written = record_lock([entry], lock)  # per source: a later failure keeps these
            log(
                f"{benchmark.id}: {entry.source} @ {entry.revision} "
                f"({len(entry.files)} files) locked in {', '.join(map(str, written))}"
            )
            progress.advance(info="")
    from posttrainbench.trial.audit import record_instruct_fingerprints

    record_instruct_fingerprints(log)  # lineage without the instruct weights on the host


@app.command("eval", rich_help_panel=PANEL)
def eval_command(
    model_path: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="A model directory.")
    ],
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="Benchmark id.")],
    limit: Annotated[
        int | None, typer.Option(help="Only the first N test items (default: all).")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help="Generation limit (default: the benchmark's).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where metrics.json and the inspect logs go (default: ptb-eval/ID)."),
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="The base model folder: its tokenizer and generation config are used "
            "(default: the model's own).",
        ),
    ] = None,
    protocol: Annotated[
        str, typer.Option(help="paper (upstream's seeds, averaged) or greedy (one decode).")
    ] = "paper",
    as_json: AsJson = False,
) -> None:
    """Evaluate any model directory on a benchmark, outside a trial, and print the metrics."""
    from posttrainbench._fileio import atomic_write_text
    from posttrainbench.benchmarks import get_benchmark
    from posttrainbench.catalog import family_of
    from posttrainbench.evaluation import EvaluationError, evaluate_model

    chosen = get_benchmark(benchmark)
    if protocol not in ("paper", "greedy"):
        raise UserError(f"--protocol {protocol!r}: use paper or greedy.")
    if limit is not None and limit < 1:
        raise UserError("--limit must be at least 1 (leave it out for the full test set).")
    chosen.test_items()  # a missing dataset is reported before minutes of model loading
    out_dir = out or Path("ptb-eval") / chosen.id
    family = family_of(model_path)
    try:
        metrics = evaluate_model(
            model_path,
            chosen,
            family,
            log_dir=out_dir / "logs",
            limit=limit,
            max_tokens=max_tokens,
            base_dir=base,
            protocol=protocol,
        )
    except EvaluationError as error:
        raise UserError(f"Evaluation of {model_path} on {chosen.id} failed: {error}") from error
    atomic_write_text(out_dir / "metrics.json", metrics.model_dump_json(indent=2))
    if as_json:
        typer.echo(metrics.model_dump_json(indent=2))
        return
    stderr = f" ± {metrics.stderr * 100:.1f}" if metrics.stderr is not None else ""
    console.print(
        f"{escape(chosen.title)}: [bold]{metrics.accuracy * 100:.1f}[/bold]{stderr} "
        f"on {metrics.n} items (max tokens {metrics.max_tokens}; protocol {metrics.protocol}, "
        f"seeds {metrics.seeds or 'none'})"
    )
    console.print(f"Metrics: {escape(str(out_dir / 'metrics.json'))}")


@app.command("rescore", rich_help_panel=PANEL)
def rescore_command(
    path: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="A trial or experiment folder.")
    ],
    write: Annotated[
        bool, typer.Option("--write", help="Replace the stored metrics with the new scores.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Re-score stored completions with the current scorers (no generation); list changes."""
    from rich.table import Table

    from posttrainbench.runs import trials_in
    from posttrainbench.trial.rescore import rescore_trial

    reports = [rescore_trial(trial, write=write) for trial in trials_in(path)]
    if as_json:
        typer.echo(json.dumps([report.model_dump() for report in reports], indent=2))
        return
    table = Table("trial", "benchmark", "old", "new", "changed", "samples changed")
    for report in reports:
        if report.skipped:
            table.add_row(Path(report.trial).name, report.benchmark, "", "", "", report.skipped)
            continue
        shown = ", ".join(f"{c.sample_id} {c.old}→{c.new}" for c in report.changed[:8])
        more = f" (+{len(report.changed) - 8})" if len(report.changed) > 8 else ""
        table.add_row(
            Path(report.trial).name,
            report.benchmark,
            f"{(report.old_accuracy or 0) * 100:.1f}",
            f"{(report.new_accuracy or 0) * 100:.1f}",
            f"{len(report.changed)}/{report.samples}",
            escape(shown + more),
        )
    console.print(table)
    if not write and any(report.changed for report in reports):
        console.print("Stored metrics unchanged: re-run with --write to replace them.")
