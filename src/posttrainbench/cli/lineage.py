"""``ptb lineage``: check by hand that a checkpoint is a fine-tune of a base model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from posttrainbench.cli._app import AsJson, app, console

PANEL = "Trials"
_STYLES = {"flag": "bold red", "warning": "yellow", "info": "dim"}


@app.command("lineage", rich_help_panel=PANEL)
def lineage_command(
    model: Annotated[
        Path, typer.Argument(help="Checkpoint folder or PEFT adapter folder to check.")
    ],
    base: Annotated[Path, typer.Argument(help="The base model it should descend from.")],
    candidate: Annotated[
        list[Path] | None,
        typer.Option(
            "--candidate",
            "-c",
            help="A checkpoint it must not copy or derive from (repeatable), e.g. the "
            "instruct model.",
        ),
    ] = None,
    search: Annotated[
        list[Path] | None,
        typer.Option(
            "--search",
            help="Also take as candidates the downloaded checkpoints under this folder "
            "(an HF cache, a workspace; repeatable).",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Per-tensor distances to the base and to candidates; exits 1 when something is flagged."""
    from posttrainbench.audit.lineage import find_candidate_checkpoints, lineage_findings

    candidates = list(candidate or [])
    if search:
        candidates += find_candidate_checkpoints(search, exclude=[model, base])
    findings = lineage_findings(model, base, candidates)
    if as_json:
        typer.echo(json.dumps([finding.model_dump() for finding in findings], indent=2))
    else:
        for finding in findings:
            tag = _STYLES[finding.severity]
            console.print(f"[{tag}]{finding.severity.upper()}[/{tag}] {escape(finding.message)}")
            console.print(escape(json.dumps(finding.evidence, indent=2, ensure_ascii=False)))
    if any(finding.severity == "flag" for finding in findings):
        raise typer.Exit(1)
