"""`ptb baseline` rows land in the store; the leaderboard's weights come from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from posttrainbench.cli import app
from posttrainbench.results import (
    BASELINE_FEW_SHOT,
    BASELINE_INSTRUCT,
    BASELINE_ZERO_SHOT,
    ResultStore,
    aggregate,
    resolve_weights,
)
from posttrainbench.results.weights import weights_from_scores
from posttrainbench.trial import index_path


@pytest.mark.slow
def test_baseline_rows_feed_the_weights(
    tiny_model: Path, instruct_model: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    cli = CliRunner()
    common = ["--model", str(tiny_model), "--benchmark", "arith-mini", "--runs-dir", str(runs)]
    for kind, extra in (
        ("zero-shot", []),
        ("few-shot", []),
        ("instruct", ["--instruct-model", str(instruct_model)]),
    ):
        outcome = cli.invoke(app, ["baseline", kind, *common, *extra])
        assert outcome.exit_code == 0, outcome.output

    results = {r.agent: r for r in ResultStore(index_path(runs)).results()}
    assert set(results) == {BASELINE_ZERO_SHOT, BASELINE_FEW_SHOT, BASELINE_INSTRUCT}
    for result in results.values():
        assert result.model == str(tiny_model) and result.benchmark == "arith-mini"
        assert result.raw_score is not None and result.score == result.raw_score
        assert result.fallback_reason is None
    # The instruct stand-in answers 9: above the random base, whose score the row keeps.
    instruct, base = results[BASELINE_INSTRUCT].score, results[BASELINE_ZERO_SHOT].score
    assert instruct is not None and base is not None and instruct > base
    resolved = resolve_weights(list(results.values()))
    assert resolved.source.value == "store"
    assert resolved.weights == weights_from_scores({"arith-mini": instruct}, {"arith-mini": base})
    board = aggregate(list(results.values()), resamples=100)
    assert all(entry.baseline for entry in board.entries)
    # The few-shot trial was scored with the allowed examples before each question.
    from inspect_ai.log import read_eval_log

    from posttrainbench.benchmarks import get_benchmark
    from posttrainbench.evaluation.few_shot import DEFAULT_SHOTS, few_shot_examples

    (log_file,) = runs.glob("baselines/baseline-few-shot_*/**/*.eval")
    samples = read_eval_log(str(log_file)).samples
    first = few_shot_examples(get_benchmark("arith-mini"), DEFAULT_SHOTS)[0]
    assert samples and samples[0].messages[0].text == first.question
    (zero_log,) = runs.glob("baselines/baseline-zero-shot_*/**/*.eval")
    zero_samples = read_eval_log(str(zero_log)).samples
    assert zero_samples and zero_samples[0].messages[0].text != first.question
