"""AIME 2026 and IFEval: upstream's extra tasks, read offline from locked fixture data."""

from __future__ import annotations

from typing import Any

import pytest

from posttrainbench.benchmarks import DatasetUnavailable, get_benchmark
from posttrainbench.benchmarks._lock import DataLock
from posttrainbench.benchmarks.aime2026 import AIME26
from posttrainbench.benchmarks.ifeval import CHECKER, IFEVAL
from posttrainbench.errors import UserError
from posttrainbench.results.weights import published_weights

from .conftest import FAKE_COMMIT

PROBLEMS = [
    {"id": "I-1", "problem": "Find the remainder when 2026 is divided by 7.", "answer": "3"},
    {"id": "I-2", "problem": "How many divisors does 12 have?", "answer": "6"},
]
PROMPTS = [
    {
        "key": 1000,
        "prompt": "Write a haiku about rain. Do not use any commas.",
        "instruction_id_list": ["punctuation:no_comma"],
        "kwargs": [{}],
    },
    {
        "key": 1001,
        "prompt": "Describe Paris in exactly 2 bullet points.",
        "instruction_id_list": ["detectable_format:number_bullet_lists"],
        "kwargs": [{"num_bullets": 2}],
    },
]


def test_aime2026_reads_the_locked_commit_and_scores_like_aime2025(hub: Any, evaluate: Any) -> None:
    hub.put_jsonl(AIME26, "test.jsonl", PROBLEMS)
    entry = DataLock.read(hub.lock_file).entry(AIME26.repo_id)
    assert entry is not None and (entry.requested, entry.revision) == ("main", FAKE_COMMIT)
    benchmark = get_benchmark("aime2026")
    assert [item.id for item in benchmark.test_items()] == ["aime2026-I-1", "aime2026-I-2"]

    def reply(prompt: str) -> str:
        return "ANSWER: 3" if "2026" in prompt else "ANSWER: 7"

    result = evaluate(benchmark.task(), reply)
    assert result.scores == {"aime2026-I-1": 1.0, "aime2026-I-2": 0.0}


def test_aime2026_without_a_lock_names_the_fetch(hub: Any) -> None:
    with pytest.raises(DatasetUnavailable, match="math-ai/aime26.*ptb data fetch"):
        get_benchmark("aime2026").test_items()


def test_ifeval_items_and_samples_carry_the_instructions(hub: Any) -> None:
    hub.put_jsonl(IFEVAL, IFEVAL.files[0], PROMPTS)
    benchmark = get_benchmark("ifeval")
    assert [item.id for item in benchmark.test_items()] == ["ifeval-1000", "ifeval-1001"]
    assert list(benchmark.iter_test_texts()) == [row["prompt"] for row in PROMPTS]
    assert benchmark.generation.max_tokens == 4000  # upstream's default


@pytest.mark.skipif(
    __import__("importlib").util.find_spec(CHECKER) is not None, reason="checkers installed"
)
def test_ifeval_without_the_checkers_says_how_to_install_them(hub: Any) -> None:
    hub.put_jsonl(IFEVAL, IFEVAL.files[0], PROMPTS)
    with pytest.raises(UserError, match="instruction_following_eval"):
        get_benchmark("ifeval").task()


def test_ifeval_headline_is_inspect_evals_final_accuracy() -> None:
    from inspect_ai.scorer import SampleScore, Score
    from inspect_evals.ifeval.ifeval import if_metric

    from posttrainbench.benchmarks.ifeval import _headline

    def sample(strict: int, loose: int, count: int) -> SampleScore:
        value = {
            "prompt_level_strict": int(strict == count),
            "prompt_level_loose": int(loose == count),
            "inst_level_strict": strict,
            "inst_level_loose": loose,
            "num_instructions": count,
        }
        return SampleScore(score=Score(value=value))

    scores = [sample(1, 2, 2), sample(0, 0, 1), sample(3, 3, 3)]
    figures = if_metric()(scores)  # type: ignore[arg-type]
    assert isinstance(figures, dict)
    assert _headline("accuracy")(scores) == figures["final_acc"]  # type: ignore[arg-type]
    assert _headline("stderr")(scores) == figures["final_stderr"]  # type: ignore[arg-type]


def test_the_new_benchmarks_stay_outside_the_papers_average() -> None:
    assert {"aime2026", "ifeval"}.isdisjoint(published_weights())
