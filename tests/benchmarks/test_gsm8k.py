"""GSM8K: pinned hub data read offline, 10-shot from train, numeric-match scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from posttrainbench.benchmarks import DatasetUnavailable, get_benchmark
from posttrainbench.benchmarks.gsm8k import GSM8K

TEST = [
    {"question": "Ann has 3 bags of 4 apples. How many apples?", "answer": "3*4=12\n#### 12"},
    {"question": "A car costs $1234 plus $0 tax. Price?", "answer": "1234+0=1234\n#### 1,234"},
    {"question": "Tim reads 5 pages a day for 7 days. Pages?", "answer": "5*7=35\n#### 35"},
]
TRAIN = [
    {
        "question": f"Train question {n}: what is {n} + {n}?",
        # Braces in a worked solution reach the prompt verbatim (no template formatting).
        "answer": f"{{x}} = {n}+{n}={2 * n}\n#### {2 * n}",
    }
    for n in range(1, 15)
]


def parquet(records: list[dict[str, Any]]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(records), sink)
    return bytes(sink.getvalue().to_pybytes())


@pytest.fixture
def gsm8k_data(hub: Any) -> None:
    hub.put(GSM8K, GSM8K.files[0], parquet(TEST))
    hub.put(GSM8K, GSM8K.files[1], parquet(TRAIN))


def answers_for(replies: dict[str, str]) -> Any:
    def answer(prompt: str) -> str:
        return next(reply for key, reply in replies.items() if key in prompt)

    return answer


def test_items_come_from_the_pinned_test_file(gsm8k_data: None) -> None:
    items = get_benchmark("gsm8k").test_items()
    assert [item.answer for item in items] == ["12", "1,234", "35"]
    assert items[0].question == TEST[0]["question"]
    texts = list(get_benchmark("gsm8k").iter_test_texts())
    assert TEST[2]["question"] in texts and "35" in texts


def test_gold_scores_one_and_wrong_scores_zero(gsm8k_data: None, evaluate: Any) -> None:
    task = get_benchmark("gsm8k").task()
    gold = evaluate(task, answers_for({"Ann": "ANSWER: 12", "car": "ANSWER: 1234", "Tim": "35"}))
    assert gold.accuracy == 1.0
    wrong = evaluate(task, answers_for({"Ann": "ANSWER: 13", "car": "ANSWER: 1243", "Tim": "?"}))
    assert wrong.accuracy == 0.0


def test_tricky_formats_scored_as_upstream(gsm8k_data: None, evaluate: Any) -> None:
    replies = {
        "Ann": "3 bags times 4 is \\boxed{12}",
        "car": "The price is $1,234.00 in total.\nANSWER: $1,234.00",
        # A base model that goes on with a made-up next question after committing.
        "Tim": "5*7=35\nANSWER: 35\n\nQuestion: Bob has 2 cats...\nANSWER: 2",
    }
    result = evaluate(get_benchmark("gsm8k").task(), answers_for(replies))
    # Upstream's rule: the signed last whitespace-separated number (a box is not a number
    # word; a base model's made-up next question ends on its own number).
    assert result.scores == {"gsm8k-0000": 0.0, "gsm8k-0001": 1.0, "gsm8k-0002": 0.0}


def test_prompt_is_ten_shot_from_train_never_test(gsm8k_data: None, evaluate: Any) -> None:
    result = evaluate(get_benchmark("gsm8k").task(limit=1), lambda prompt: "ANSWER: 12")
    sample = result.sample("gsm8k-0000")
    system = sample.messages[0]
    assert system.role == "system"
    shots = [row for row in TRAIN if row["question"] in system.text]
    assert len(shots) == 10
    assert all(row["question"] not in system.text for row in TEST)
    assert system.text.count("{x} = ") == 10
    # The same seeded draw every time: a second task shows the same examples.
    again = evaluate(get_benchmark("gsm8k").task(limit=1), lambda prompt: "ANSWER: 12")
    assert again.sample("gsm8k-0000").messages[0].text == system.text


def test_limit_takes_the_first_items(gsm8k_data: None) -> None:
    task = get_benchmark("gsm8k").task(limit=2)
    assert [sample.id for sample in task.dataset] == ["gsm8k-0000", "gsm8k-0001"]


def test_offline_without_data_names_dataset_revision_and_fetch(hub: Any) -> None:
    with pytest.raises(DatasetUnavailable) as raised:
        get_benchmark("gsm8k").test_items()
    message = str(raised.value)
    assert "openai/gsm8k" in message and GSM8K.revision in message
    assert "ptb data fetch" in message


def test_the_declarations_match_the_paper() -> None:
    benchmark = get_benchmark("gsm8k")
    assert benchmark.default_limit == 150
    assert benchmark.generation.max_tokens == 4000
    assert benchmark.generation.fallback_max_tokens == (3000, 2000)
    assert "train" in benchmark.allowed_training_data
    assert not getattr(benchmark, "judged", False)


def test_parquet_fixture_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(parquet(TEST))
    assert pq.read_table(path).num_rows == 3
