"""The SQLite index of trials and results.

The run directories stay the source of truth: the index can be deleted and rebuilt from
them at any time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from posttrainbench.results.record import TrialResult

__all__ = ["ResultStore", "TrialRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    trial_id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    agent TEXT NOT NULL,
    model TEXT NOT NULL,
    benchmark TEXT NOT NULL,
    hours REAL NOT NULL,
    replicate INTEGER NOT NULL,
    run_dir TEXT NOT NULL,
    phase TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    trial_id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    score REAL,
    result_json TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class TrialRow:
    """Where one trial stands."""

    trial_id: str
    experiment: str
    agent: str
    model: str
    benchmark: str
    hours: float
    replicate: int
    run_dir: str
    phase: str
    updated_at: str


class ResultStore:
    """Reads and writes the index at ``path`` (created by the first write; reads never create)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            with connection:
                yield connection
        finally:
            connection.close()

    def upsert_trial(self, row: TrialRow) -> None:
        """Insert or update a trial's progress."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO trials VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    row.trial_id,
                    row.experiment,
                    row.agent,
                    row.model,
                    row.benchmark,
                    row.hours,
                    row.replicate,
                    row.run_dir,
                    row.phase,
                    row.updated_at,
                ),
            )

    def upsert_result(self, result: TrialResult) -> None:
        """Insert or replace a trial's final result."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO results VALUES (?,?,?,?)",
                (result.trial_id, result.experiment, result.score, result.model_dump_json()),
            )

    def upsert_results(self, results: Sequence[TrialResult]) -> None:
        """Insert or replace many results in one transaction (imports, benchmarks)."""
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO results VALUES (?,?,?,?)",
                [(r.trial_id, r.experiment, r.score, r.model_dump_json()) for r in results],
            )

    def trials(self, experiment: str | None = None) -> list[TrialRow]:
        """Trials, optionally of one experiment, ordered by experiment and id."""
        query = "SELECT * FROM trials"
        if not self.path.is_file():
            return []
        with self._connect() as db:
            if experiment is None:
                rows = db.execute(query + " ORDER BY experiment, trial_id").fetchall()
            else:
                rows = db.execute(
                    query + " WHERE experiment = ? ORDER BY trial_id", (experiment,)
                ).fetchall()
        return [TrialRow(*row) for row in rows]

    def results(self, experiment: str | None = None) -> list[TrialResult]:
        """Final results, optionally of one experiment."""
        if not self.path.is_file():
            return []
        with self._connect() as db:
            if experiment is None:
                rows = db.execute("SELECT result_json FROM results ORDER BY trial_id").fetchall()
            else:
                rows = db.execute(
                    "SELECT result_json FROM results WHERE experiment = ? ORDER BY trial_id",
                    (experiment,),
                ).fetchall()
        return [TrialResult.parse(row[0]) for row in rows]

    def clear(self) -> None:
        """Drop every row (before a rebuild from the run directories)."""
        with self._connect() as db:
            db.execute("DELETE FROM trials")
            db.execute("DELETE FROM results")
