"""GPQA main: gated hub CSV read offline, seeded choice shuffle, multiple choice with CoT."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from posttrainbench.benchmarks import DatasetUnavailable, get_benchmark
from posttrainbench.benchmarks.gpqa import GPQA, gpqa_items

COLUMNS = ["Record ID", "Question", "Correct Answer"] + [f"Incorrect Answer {n}" for n in (1, 2, 3)]
ROWS = [
    [f"rec{n:03d}", f"Question {n}: which particle is {n}?", f"right {n}", "w1", "w2", "w3"]
    for n in range(12)
]


def gpqa_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Pre-Revision Question", *COLUMNS, "Subdomain"])
    for row in rows:
        writer.writerow(["old", *row, "Physics"])
    return buffer.getvalue().encode()


@pytest.fixture
def gpqa_data(hub: Any) -> None:
    hub.put(GPQA, "gpqa_main.csv", gpqa_csv(ROWS))


def letter_of(prompt: str, text: str) -> str:
    """The letter the prompt shows in front of choice ``text`` (``A) right 3``)."""
    for line in prompt.splitlines():
        if line.endswith(f") {text}"):
            return line[0]
    raise AssertionError(f"{text!r} not among the choices of {prompt!r}")


def question_number(prompt: str) -> int:
    return int(prompt.split("Question ")[1].split(":")[0])


def test_the_shuffle_is_seeded_and_varies_the_correct_letter(gpqa_data: None) -> None:
    items = gpqa_items()
    assert [item.choices for item in items] == [item.choices for item in gpqa_items()]
    letters = {item.target for item in items}
    assert len(letters) > 1  # the raw file always lists the correct answer first
    for item in items:
        assert sorted(item.choices) == sorted([item.answer, "w1", "w2", "w3"])


def test_the_order_does_not_depend_on_the_limit(gpqa_data: None) -> None:
    full = [sample.choices for sample in get_benchmark("gpqamain").task().dataset]
    head = [sample.choices for sample in get_benchmark("gpqamain").task(limit=3).dataset]
    assert head == full[:3]


def test_gold_letter_scores_one_and_wrong_scores_zero(gpqa_data: None, evaluate: Any) -> None:
    task = get_benchmark("gpqamain").task()

    def gold(prompt: str) -> str:
        n = question_number(prompt)
        return f"Let me think step by step.\nANSWER: {letter_of(prompt, f'right {n}')}"

    def wrong(prompt: str) -> str:
        return f"ANSWER: {letter_of(prompt, 'w2')}"

    assert evaluate(task, gold).accuracy == 1.0
    assert evaluate(task, wrong).accuracy == 0.0


def test_prompt_asks_for_reasoning(gpqa_data: None, evaluate: Any) -> None:
    result = evaluate(get_benchmark("gpqamain").task(limit=1), lambda prompt: "ANSWER: A")
    prompt = result.sample("rec000").messages[0].text
    assert "step by step" in prompt.lower()


def test_items_and_texts_include_every_choice(gpqa_data: None) -> None:
    benchmark = get_benchmark("gpqamain")
    assert len(benchmark.test_items()) == 12
    texts = set(benchmark.iter_test_texts())
    assert {"right 0", "w1", ROWS[5][1]} <= texts
    assert benchmark.default_limit == 50


def test_offline_without_data_names_dataset_revision_fetch_and_token(hub: Any) -> None:
    with pytest.raises(DatasetUnavailable) as raised:
        get_benchmark("gpqamain").test_items()
    message = str(raised.value)
    assert "Idavidrein/gpqa" in message and GPQA.revision in message
    assert "ptb data fetch" in message and "HF_TOKEN" in message
