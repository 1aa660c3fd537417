"""``ptb import-upstream`` on a tree in the upstream PostTrainBench layout."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from posttrainbench.cli import app
from posttrainbench.results import ResultStore, TrialResult, aggregate, import_upstream
from posttrainbench.results.upstream import parse_run_dir, parse_trial_dir
from posttrainbench.trial import index_path


def _trial(
    run: Path,
    name: str,
    accuracy: float | None,
    *,
    time_taken: str = "5:30:00",
    contamination: str = "no contamination detected",
    disallowed: str = "only allowed use detected",
) -> None:
    folder = run / name
    folder.mkdir(parents=True)
    if accuracy is not None:
        (folder / "metrics.json").write_text(json.dumps({"accuracy": accuracy, "stderr": 0.01}))
    (folder / "time_taken.txt").write_text(time_taken + "\n")
    (folder / "contamination_judgement.txt").write_text(contamination + "\n")
    (folder / "disallowed_model_judgement.txt").write_text(disallowed + "\n")


def _tree(root: Path) -> Path:
    run1 = root / "claude_claude-opus-4-6_10h_run1"
    _trial(run1, "gsm8k_Qwen_Qwen3-1.7B-Base_100", 0.40)
    _trial(run1, "gsm8k_Qwen_Qwen3-1.7B-Base_205", 0.55)  # a rerun: the latest job counts
    _trial(run1, "humaneval_Qwen_Qwen3-1.7B-Base_101", 0.30, contamination="contamination detected")
    run2 = root / "claude_claude-opus-4-6_10h_run2"
    _trial(run2, "gsm8k_Qwen_Qwen3-1.7B-Base_300", 0.45, time_taken="10:02:07")
    _trial(run2, "humaneval_Qwen_Qwen3-1.7B-Base_301", None)
    (root / "notes").mkdir()
    return root


def _by_key(results: list[TrialResult]) -> dict[tuple[str, int], TrialResult]:
    return {(r.benchmark, r.replicate): r for r in results}


def test_names_parse_like_upstream() -> None:
    assert parse_run_dir("codex_non_api_high_gpt-5.3-codex_10h_run1") == (
        "codex",
        "non_api_high_gpt-5.3-codex",
        10.0,
    )
    assert parse_run_dir("claude_claude-opus-4-6_10h") == ("claude", "claude-opus-4-6", 10.0)
    assert parse_run_dir("README") is None
    assert parse_trial_dir("gsm8k_google_gemma-3-4b-pt_4411") == (
        "gsm8k",
        "google/gemma-3-4b-pt",
        4411,
    )


def test_import_reads_scores_time_and_judgements(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "index.sqlite")
    report = import_upstream(_tree(tmp_path / "upstream"), store)
    results = _by_key(store.results())
    assert report.imported == len(results) == 4
    assert results[("gsm8k", 1)].score == 0.55
    assert results[("gsm8k", 2)].solve_seconds == 10 * 3600 + 2 * 60 + 7
    assert (
        results[("gsm8k", 1)].agent == "claude"
        and results[("gsm8k", 1)].agent_config == "claude-opus-4-6"
    )
    assert (
        results[("gsm8k", 1)].model == "Qwen/Qwen3-1.7B-Base" and results[("gsm8k", 1)].hours == 10
    )
    flagged = results[("humaneval", 1)]
    assert flagged.fallback_reason == "flagged: contamination"
    assert (
        flagged.audit_verdict == "flagged" and flagged.raw_score == 0.30 and flagged.score is None
    )
    assert results[("humaneval", 2)].fallback_reason.startswith("no metrics")
    assert report.fallbacks == {
        "flagged: contamination": 1,
        "no metrics (evaluation failed or no model)": 1,
    }
    assert any("notes" in line for line in report.skipped)


def test_fallbacks_take_the_stores_base_score_and_aggregate(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "index.sqlite")
    base = {
        "trial_id": "base-humaneval",
        "experiment": "baselines",
        "agent": "baseline-zero-shot",
        "agent_config": "",
        "model": "Qwen/Qwen3-1.7B-Base",
        "benchmark": "humaneval",
        "hours": 0.0,
        "replicate": 1,
        "score": 0.12,
        "raw_score": 0.12,
        "base_score": None,
        "stderr": None,
        "fallback_reason": None,
        "audit_verdict": "clean",
        "solve_seconds": 0.0,
        "solve_outcome": "exited",
        "harness_version": "0",
        "finished_at": "2026-01-01T00:00:00+00:00",
    }
    store.upsert_result(TrialResult(**base))
    import_upstream(_tree(tmp_path / "upstream"), store)
    results = _by_key(store.results("upstream"))
    assert results[("humaneval", 1)].score == 0.12 and results[("humaneval", 2)].score == 0.12
    # Re-importing replaces rather than duplicates.
    import_upstream(_tree(tmp_path / "again"), store)
    assert len(store.results("upstream")) == 4
    board = aggregate(store.results("upstream"))
    entry = board.entries[0]
    assert entry.agent == "claude:claude-opus-4-6" and entry.fallbacks == 2
    by_benchmark = {s.benchmark: s.score for s in entry.benchmarks}
    assert round(by_benchmark["gsm8k"], 6) == 0.5  # (0.55 + 0.45) / 2


def test_cli_imports_into_the_runs_index(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(
        app, ["import-upstream", str(_tree(tmp_path / "up")), "--runs-dir", str(runs)]
    )
    assert result.exit_code == 0, result.output
    assert "imported 4 trial results" in result.output
    assert len(ResultStore(index_path(runs)).results("upstream")) == 4
