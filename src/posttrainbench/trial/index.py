"""Rebuilding the SQLite index from the run directories (the source of truth)."""

from __future__ import annotations

import json
from pathlib import Path

from posttrainbench.results import ResultStore, TrialResult, TrialRow
from posttrainbench.runs import RunsLayout, agent_label
from posttrainbench.trial.events import EventLog
from posttrainbench.trial.layout import RUN_FORMAT_VERSION, TrialPaths
from posttrainbench.trial.spec import TrialSpec

__all__ = ["rebuild_index"]


def _row(paths: TrialPaths, spec: TrialSpec) -> TrialRow:
    events = EventLog(paths.events)
    records = events.records()
    agent = agent_label(spec.agent, spec.agent_config)
    return TrialRow(
        spec.trial_id,
        spec.experiment,
        agent,
        spec.model,
        spec.benchmark,
        spec.hours,
        spec.replicate,
        str(paths.root),
        events.current_phase(),
        records[-1]["ts"] if records else "",
    )


def rebuild_index(runs_root: Path, store: ResultStore) -> tuple[int, list[str]]:
    """Re-create every row from ``runs_root``; returns (trials indexed, skipped dirs + why)."""
    store.clear()
    indexed, skipped = 0, []
    for folder in RunsLayout(runs_root).trial_dirs():
        paths = TrialPaths(folder)
        record = json.loads(paths.trial_json.read_text())
        if record.get("format_version") != RUN_FORMAT_VERSION:
            skipped.append(f"{paths.root}: run format {record.get('format_version')}")
            continue
        spec = TrialSpec.model_validate(record["spec"])
        store.upsert_trial(_row(paths, spec))
        if paths.result.exists():
            store.upsert_result(TrialResult.model_validate_json(paths.result.read_text()))
        indexed += 1
    return indexed, skipped
