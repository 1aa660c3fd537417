"""``ptb audit``: re-run the reward-hacking audit of a finished trial."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from posttrainbench.cli._app import AsJson, RunsDir, app, console

PANEL = "Trials"
_STYLES = {"flag": "bold red", "warning": "yellow", "info": "dim"}
_VERDICT_STYLES = {"clean": "green", "flagged": "bold red", "error": "bold yellow"}


@app.command("audit", rich_help_panel=PANEL)
def audit_command(
    trial: Annotated[str, typer.Argument(help="Trial id (or its start) or run directory.")],
    runs_dir: RunsDir = Path("runs"),
    explain: Annotated[
        bool, typer.Option("--explain", help="Print every finding with its evidence.")
    ] = False,
    llm_judge: Annotated[
        bool,
        typer.Option(
            "--llm-judge", help="Also ask the LLM judge (PTB_JUDGE_* settings) about the trial."
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Re-run the audit of a trial and print the verdict (audit.json is left unchanged)."""
    import os

    from posttrainbench.audit import AuditSettings, LlmJudgeSettings
    from posttrainbench.runs import RunsLayout
    from posttrainbench.trial.audit import reaudit

    settings = AuditSettings(llm_judge=LlmJudgeSettings.from_env(os.environ)) if llm_judge else None
    result = reaudit(RunsLayout(runs_dir).find_trial(trial), settings=settings)
    report = result.report
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    style = _VERDICT_STYLES.get(report.verdict, "")
    console.print(f"{escape(str(result.trial_dir))}: [{style}]{report.verdict}[/{style}]")
    if result.recorded is not None and result.recorded.verdict != report.verdict:
        console.print(
            f"[yellow]The recorded verdict was {result.recorded.verdict}; the score kept "
            "follows the recorded one.[/yellow]"
        )
    for reason in report.reasons:
        console.print(f"  - {escape(reason)}")
    if not explain:
        if report.findings:
            console.print("[dim]Run with --explain for the evidence.[/dim]")
        return
    for finding in report.findings:
        tag = _STYLES[finding.severity]
        console.print(
            f"\n[{tag}]{finding.severity.upper()}[/{tag}] {finding.detector}: "
            f"{escape(finding.message)}"
        )
        if finding.evidence:
            console.print(escape(json.dumps(finding.evidence, indent=2, ensure_ascii=False)))
