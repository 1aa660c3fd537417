"""AIME 2025: pinned hub data read offline, exact integer answers."""

from __future__ import annotations

from typing import Any

import pytest

from posttrainbench.benchmarks import DatasetUnavailable, get_benchmark
from posttrainbench.benchmarks.aime2025 import AIME25

PROBLEMS = [
    {"id": "0", "problem": "Find the sum of all bases b > 9 ...", "answer": "70"},
    {"id": "1", "problem": "Triangle ABC has area 588 ...", "answer": "588"},
    {"id": "2", "problem": "How many ordered pairs (x, y) ...", "answer": "117"},
]


@pytest.fixture
def aime_data(hub: Any) -> None:
    hub.put_jsonl(AIME25, "test.jsonl", PROBLEMS)


def by_problem(replies: list[str]) -> Any:
    def answer(prompt: str) -> str:
        index = next(i for i, row in enumerate(PROBLEMS) if row["problem"] in prompt)
        return replies[index]

    return answer


def test_gold_scores_one_and_wrong_scores_zero(aime_data: None, evaluate: Any) -> None:
    task = get_benchmark("aime2025").task()
    assert evaluate(task, by_problem(["ANSWER: 70", "ANSWER: 588", "ANSWER: 117"])).accuracy == 1
    assert evaluate(task, by_problem(["ANSWER: 71", "ANSWER: 58.8", "no idea"])).accuracy == 0


def test_tricky_formats_scored_as_upstream(aime_data: None, evaluate: Any) -> None:
    replies = [
        "The bases are 21 and 49, so $$\n\\boxed{70}\n$$",
        "ANSWER: 588\n\nNow another problem: find 12. ANSWER: 12",
        "We get \\boxed{\\frac{234}{2}}",
    ]
    result = evaluate(get_benchmark("aime2025").task(), by_problem(replies))
    # The last line decides; LaTeX is not evaluated (upstream's rule).
    assert result.scores == {"aime2025-0": 1.0, "aime2025-1": 0.0, "aime2025-2": 0.0}


def test_items_and_texts(aime_data: None) -> None:
    benchmark = get_benchmark("aime2025")
    assert [item.answer for item in benchmark.test_items()] == ["70", "588", "117"]
    assert PROBLEMS[1]["problem"] in set(benchmark.iter_test_texts())
    assert benchmark.default_limit is None
    assert benchmark.generation.fallback_max_tokens == (12000, 8000)


def test_offline_without_data_names_dataset_revision_and_fetch(hub: Any) -> None:
    with pytest.raises(DatasetUnavailable) as raised:
        get_benchmark("aime2025").task()
    message = str(raised.value)
    assert "math-ai/aime25" in message and AIME25.revision in message
    assert "ptb data fetch" in message
