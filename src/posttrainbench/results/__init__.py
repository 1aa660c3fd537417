"""Results: the trial result record, the SQLite index, aggregation and the leaderboard."""

from posttrainbench.results._views import LeaderboardView
from posttrainbench.results.aggregate import (
    BASELINE_AGENTS,
    BASELINE_FEW_SHOT,
    BASELINE_INSTRUCT,
    BASELINE_ZERO_SHOT,
    aggregate,
    average_from_published_columns,
    resolve_weights,
)
from posttrainbench.results.artifacts import TrialFiles
from posttrainbench.results.formats import (
    OutputFormat,
    format_leaderboard,
    select_view,
    to_csv,
    to_json,
    to_markdown,
)
from posttrainbench.results.leaderboard import LeaderboardRow, leaderboard
from posttrainbench.results.plots import write_plots
from posttrainbench.results.record import TrialResult
from posttrainbench.results.render import (
    leaderboard_table,
    leaderboard_view_table,
    status_table,
    table_text,
)
from posttrainbench.results.site import build_site
from posttrainbench.results.store import ResultStore, TrialRow
from posttrainbench.results.summary import (
    AgentSummary,
    BenchmarkSummary,
    CellSummary,
    ConfidenceInterval,
    Leaderboard,
    MissingCell,
    ReplicateAverage,
    ResolvedWeights,
    WeightsSource,
)
from posttrainbench.results.upstream import ImportReport, import_upstream
from posttrainbench.results.weights import (
    PublishedReference,
    PublishedRow,
    load_weights_file,
    normalise_weights,
    published_reference,
    published_weights,
    weights_from_scores,
)

__all__ = [
    "BASELINE_AGENTS",
    "BASELINE_FEW_SHOT",
    "BASELINE_INSTRUCT",
    "BASELINE_ZERO_SHOT",
    "AgentSummary",
    "BenchmarkSummary",
    "CellSummary",
    "ConfidenceInterval",
    "ImportReport",
    "Leaderboard",
    "LeaderboardRow",
    "LeaderboardView",
    "MissingCell",
    "OutputFormat",
    "PublishedReference",
    "PublishedRow",
    "ReplicateAverage",
    "ResolvedWeights",
    "ResultStore",
    "TrialFiles",
    "TrialResult",
    "TrialRow",
    "WeightsSource",
    "aggregate",
    "average_from_published_columns",
    "build_site",
    "format_leaderboard",
    "import_upstream",
    "leaderboard",
    "leaderboard_table",
    "leaderboard_view_table",
    "load_weights_file",
    "normalise_weights",
    "published_reference",
    "published_weights",
    "resolve_weights",
    "select_view",
    "status_table",
    "table_text",
    "to_csv",
    "to_json",
    "to_markdown",
    "weights_from_scores",
    "write_plots",
]
