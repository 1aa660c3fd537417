"""``ptb site``: a static site of the leaderboard and of every trial.

One ``index.html`` (leaderboard, per-benchmark breakdown with a base-model selector, time
and cost, the list of trials) and one ``trials/<id>.html`` per trial (spec, score and why,
audit findings with evidence, readable trace, monitor charts). Everything is inline: CSS,
a few lines of JS, SVG charts, and the data as embedded JSON, so the pages work from
``file://`` and any static host with nothing fetched at view time. Whatever the agent
wrote (trace, findings) is escaped by the templates' autoescaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from posttrainbench._fileio import atomic_write_text
from posttrainbench.results._views import (
    CUT_SHORT_MARK,
    FALLBACK_MARK,
    MISSING_MARK,
    UNISOLATED_MARK,
    short_model,
)
from posttrainbench.results.artifacts import (
    MonitorSample,
    TrialFiles,
    read_audit,
    read_monitor,
    read_spec,
    read_trace,
)
from posttrainbench.results.record import TrialResult
from posttrainbench.results.summary import Leaderboard

__all__ = ["FilesOf", "build_site", "trial_page_name"]

FilesOf = Callable[[TrialResult], TrialFiles | None]
"""Where a trial's run-directory files are (None: only its result is known)."""

_CHART_WIDTH, _CHART_HEIGHT = 600, 120


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("posttrainbench.results", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pct"] = _pct
    environment.filters["short_model"] = short_model
    return environment


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}"


def trial_page_name(trial_id: str) -> str:
    """The file name of a trial's page: the id with anything unsafe replaced."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", trial_id) + ".html"


@dataclass(frozen=True)
class _Chart:
    title: str
    points: str
    last: str


def _charts(samples: Sequence[MonitorSample]) -> list[_Chart]:
    series: list[tuple[str, list[float | None], float, Callable[[float], str]]] = [
        ("GPU utilisation", [s.gpu_util for s in samples], 100.0, lambda v: f"{v:.0f}%"),
        ("GPU memory", [s.gpu_memory for s in samples], 1.0, lambda v: f"{100 * v:.0f}%"),
        ("host memory", [s.memory_used for s in samples], 1.0, lambda v: f"{100 * v:.0f}%"),
        ("CPU load (1 min)", [s.load for s in samples], 0.0, lambda v: f"{v:.2f}"),
    ]
    charts = []
    for title, values, top, text in series:
        present = [v for v in values if v is not None]
        if not present:
            continue
        scale = top or max(max(present), 1.0)
        step = _CHART_WIDTH / max(1, len(values) - 1)
        points = " ".join(
            f"{i * step:.1f},{_CHART_HEIGHT - _CHART_HEIGHT * min(v / scale, 1.0):.1f}"
            for i, v in enumerate(values)
            if v is not None
        )
        charts.append(_Chart(title, points, text(present[-1])))
    return charts


def _trial_context(result: TrialResult, files: TrialFiles | None) -> dict[str, Any]:
    spec = read_spec(files) if files else {}
    if not spec:
        spec = result.model_dump(
            include={"experiment", "agent", "agent_config", "model", "benchmark", "hours"}
        )
        spec["replicate"] = result.replicate
    samples = read_monitor(files) if files else []
    return {
        "result": result,
        "spec": spec,
        "audit": read_audit(files) if files else None,
        "trace": read_trace(files) if files else [],
        "charts": _charts(samples),
        "samples": len(samples),
        "chart_width": _CHART_WIDTH,
        "chart_height": _CHART_HEIGHT,
    }


def _site_data(board: Leaderboard) -> dict[str, Any]:
    """What the page's script needs: per agent, per (model, benchmark) cell scores."""
    return {
        "models": board.models,
        # Empty benchmark columns are hidden: only benchmarks some result is on.
        "benchmarks": [
            b
            for b in [*board.benchmarks, *board.unweighted_benchmarks]
            if any(c.benchmark == b for e in board.entries for c in e.cells)
        ],
        "entries": [
            {
                "agent": e.agent,
                "hours": e.hours,
                "benchmarks": {s.benchmark: s.score for s in e.benchmarks},
                "cells": {f"{c.model}\n{c.benchmark}": c.score for c in e.cells},
            }
            for e in board.entries
        ],
    }


def build_site(
    board: Leaderboard,
    results: Sequence[TrialResult],
    out_dir: Path,
    files_of: FilesOf = lambda result: None,
    *,
    title: str = "PostTrainBench",
) -> int:
    """Write the site into ``out_dir``; returns the number of pages written.

    Args:
        board: The aggregated leaderboard.
        results: The trial results it was aggregated from (one page each).
        out_dir: Destination folder (created; existing pages are replaced).
        files_of: Where each trial's run-directory files are.
        title: The site's title.
    """
    environment = _environment()
    trials_dir = out_dir / "trials"
    trials_dir.mkdir(parents=True, exist_ok=True)
    ordered = sorted(
        results, key=lambda r: (r.experiment, r.agent, r.model, r.benchmark, r.replicate)
    )
    pages = {r.trial_id: "trials/" + trial_page_name(r.trial_id) for r in ordered}
    index = environment.get_template("index.html.jinja").render(
        title=title,
        board=board,
        results=ordered,
        pages=pages,
        data=_site_data(board),
        fallback_mark=FALLBACK_MARK,
        missing_mark=MISSING_MARK,
        cut_short_mark=CUT_SHORT_MARK,
        unisolated_mark=UNISOLATED_MARK,
    )
    atomic_write_text(out_dir / "index.html", index)
    trial_template = environment.get_template("trial.html.jinja")
    for result in ordered:
        page = trial_template.render(title=title, **_trial_context(result, files_of(result)))
        # Plain writes: the site is regenerated from the store, and 10,000 fsyncs are slow.
        (trials_dir / trial_page_name(result.trial_id)).write_text(page, encoding="utf-8")
    return 1 + len(ordered)
