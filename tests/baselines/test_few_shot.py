"""Few-shot examples: deterministic, from allowed data only, shown before each question."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.benchmarks import arith, get_benchmark
from posttrainbench.evaluation.few_shot import FEW_SHOT_SEED, NoAllowedData, few_shot_examples
from posttrainbench.executors.baselines import baseline_specs


def test_examples_are_deterministic_and_never_test_items() -> None:
    bench = get_benchmark("arith-mini")
    first = few_shot_examples(bench, 8)
    assert first == few_shot_examples(bench, 8)  # the same draw every run
    assert len(first) == 8 and len({e.question for e in first}) == 8
    # Never a test question of the benchmark, nor of the full arith split it comes from.
    full_test = {item.question for item in arith.test_split()}
    assert not full_test & {e.question for e in first}
    assert few_shot_examples(bench, 8, seed=FEW_SHOT_SEED + 1) != first
    assert all(e.reply.startswith("The answer is ") for e in first)


def test_benchmarks_without_allowed_data_have_no_few_shot_row() -> None:
    with pytest.raises(NoAllowedData, match="allows no training data"):
        few_shot_examples(get_benchmark("humaneval"), 3)
    specs, skipped = baseline_specs("few-shot", ["Qwen/Qwen3-1.7B-Base"], ["humaneval", "gpqamain"])
    assert specs == [] and set(skipped) == {"humaneval", "gpqamain"}
    # Zero-shot rows exist for every benchmark.
    specs, skipped = baseline_specs("zero-shot", ["Qwen/Qwen3-1.7B-Base"], ["humaneval"])
    assert [s.agent for s in specs] == ["baseline-zero-shot"] and not skipped


def test_few_shot_turns_precede_the_question_at_evaluation(
    tiny_model: Path, tmp_path: Path
) -> None:
    from inspect_ai.log import read_eval_log

    from posttrainbench.catalog import ModelFamily
    from posttrainbench.evaluation import evaluate_model

    bench = get_benchmark("arith-mini")
    metrics = evaluate_model(
        tiny_model, bench, ModelFamily.QWEN3, log_dir=tmp_path, limit=2, provider="hf", few_shot=3
    )
    assert metrics.log_file is not None
    log = read_eval_log(str(tmp_path / metrics.log_file))
    examples = few_shot_examples(bench, 3)
    assert log.samples is not None and len(log.samples) == 2
    for sample, item in zip(log.samples, bench.test_items(), strict=False):
        texts = [(m.role, m.text) for m in sample.messages]
        expected = [
            turn for e in examples for turn in (("user", e.question), ("assistant", e.reply))
        ]
        assert texts[: len(expected)] == expected
        # The test question is the last user turn, after the examples; no test item leaks in.
        assert texts[len(expected)] == ("user", item.question)
        assert texts[-1][0] == "assistant"
