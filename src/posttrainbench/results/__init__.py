"""Results: the trial result record, the SQLite index, and the leaderboard."""

from posttrainbench.results.leaderboard import LeaderboardRow, leaderboard
from posttrainbench.results.record import TrialResult
from posttrainbench.results.render import leaderboard_table, status_table
from posttrainbench.results.store import ResultStore, TrialRow

__all__ = [
    "LeaderboardRow",
    "ResultStore",
    "TrialResult",
    "TrialRow",
    "leaderboard",
    "leaderboard_table",
    "status_table",
]
