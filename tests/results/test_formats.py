import csv
import io
import json

import pytest

from posttrainbench.errors import UserError
from posttrainbench.results import (
    Leaderboard,
    LeaderboardView,
    OutputFormat,
    ResolvedWeights,
    WeightsSource,
    aggregate,
    format_leaderboard,
    leaderboard_view_table,
    select_view,
    to_csv,
    to_json,
    to_markdown,
)

WEIGHTS = ResolvedWeights(
    weights={"gsm8k": 0.5, "humaneval": 0.5}, source=WeightsSource.FILE, detail="w.toml"
)


@pytest.fixture
def board(make_grid) -> Leaderboard:
    """'good' is complete with one flagged trial; 'gappy' lacks humaneval in run 2."""
    shift = {1: 0.0, 2: 0.1}
    good = make_grid({"gsm8k": 0.4, "humaneval": 0.2, "arith": 0.9}, agent="good", shift=shift)
    good[0] = good[0].model_copy(update={"score": 0.05, "fallback_reason": "flagged"})
    gappy = [
        r
        for r in make_grid({"gsm8k": 0.2, "humaneval": 0.1}, agent="gappy", shift=shift)
        if not (r.replicate == 2 and r.benchmark == "humaneval")
    ]
    return aggregate(good + gappy, WEIGHTS)


def test_csv_agents_view_carries_fractions_and_counts(board: Leaderboard) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(board))))
    assert [row["agent"] for row in rows] == ["good", "gappy"]
    good, gappy = rows
    assert float(good["average"]) == pytest.approx(board.entries[0].average)
    assert (good["fallbacks"], good["fallback_reasons"]) == ("1", "flagged: 1")
    assert (gappy["runs"], gappy["missing_cells"]) == ("1", "2")
    assert gappy["std"] == "" and gappy["ci_low"] == ""


def test_csv_by_benchmark_has_a_column_per_benchmark(board: Leaderboard) -> None:
    text = to_csv(board, LeaderboardView.BY_BENCHMARK)
    header = text.splitlines()[0].split(",")
    assert header == ["agent", "hours", "gsm8k", "humaneval", "arith", "average"]


def test_json_has_records_weights_source_and_missing_cells(board: Leaderboard) -> None:
    document = json.loads(to_json(board, LeaderboardView.BY_MODEL))
    assert document["view"] == "by-model"
    assert {row["model"] for row in document["rows"]} == set(board.models)
    assert document["leaderboard"]["weights"]["source"] == "file"
    gappy = next(e for e in document["leaderboard"]["entries"] if e["agent"] == "gappy")
    assert {(m["benchmark"], m["replicate"]) for m in gappy["missing"]} == {("humaneval", 2)}
    assert Leaderboard.model_validate(document["leaderboard"]) == board


def test_markdown_shows_x100_markers_and_notes(board: Leaderboard) -> None:
    text = to_markdown(board, LeaderboardView.BY_BENCHMARK)
    lines = text.splitlines()
    assert "| agent | budget | gsm8k | humaneval | arith | average |" in lines
    assert "| --- | ---: | ---: | ---: | ---: | ---: |" in lines
    gappy = next(line for line in lines if line.startswith("| gappy"))
    # humaneval lacks run 2 (partial); arith is unweighted and was never run (no mark);
    # the average uses the complete run 1 only, flagged.
    assert gappy == "| gappy | 10 h | 25.0 | 10.0† | — | 15.0† |"
    good = next(line for line in lines if line.startswith("| good"))
    assert "\\*" in good  # fallback marker, escaped for Markdown
    assert "Weights: file — w.toml.  " in lines
    assert any(line.startswith("\\* includes") for line in lines)
    assert "Not in the average (no weight): arith.  " in lines


def test_by_model_rows_cover_every_grid_model(board: Leaderboard) -> None:
    text = to_markdown(board, LeaderboardView.BY_MODEL)
    assert text.count("| good |") == len(board.models)
    assert "model-a" in text and "org/model-a" not in text


def test_rich_table_and_plain_text_table(board: Leaderboard) -> None:
    table = leaderboard_view_table(board)
    assert [column.header for column in table.columns][:4] == ["agent", "budget", "runs", "average"]
    text = format_leaderboard(board, OutputFormat.TABLE)
    assert "gappy" in text and "1/2" in text and "Weights: file" in text


@pytest.mark.parametrize("output", list(OutputFormat))
@pytest.mark.parametrize("view", list(LeaderboardView))
def test_every_format_renders_every_view(
    board: Leaderboard, output: OutputFormat, view: LeaderboardView
) -> None:
    assert "good" in format_leaderboard(board, output, view)


def test_view_flags() -> None:
    assert select_view(by_model=False, by_benchmark=False) is LeaderboardView.AGENTS
    assert select_view(by_model=True, by_benchmark=False) is LeaderboardView.BY_MODEL
    assert select_view(by_model=False, by_benchmark=True) is LeaderboardView.BY_BENCHMARK
    with pytest.raises(UserError, match="not both"):
        select_view(by_model=True, by_benchmark=True)
