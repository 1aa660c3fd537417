from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from posttrainbench.benchmarks import arith, get_benchmark

if TYPE_CHECKING:
    from inspect_ai.model import ModelOutput


def _recompute(question: str) -> int:
    """The answer of a generated question, worked out independently of the generator."""
    start, change = (int(n) for n in re.findall(r"\d+", question))
    losing = any(verb in question for verb in ("gives away", "loses", "sells", "eats"))
    return start - change if losing else start + change


def test_test_split_is_fixed_and_well_formed() -> None:
    items = arith.test_split()
    assert items == arith.test_split()
    assert len(items) == arith.TEST_SIZE
    assert len({item.id for item in items}) == len(items)
    assert len({item.question for item in items}) == len(items)
    for item in items:
        assert int(item.answer) == _recompute(item.question) >= 0


def test_test_split_never_changes() -> None:
    # Published scores refer to this exact split: changing the generator breaks them all.
    items = arith.test_split()
    text = "\n".join(f"{item.id}\t{item.question}\t{item.answer}" for item in items)
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert digest == "055fee5fe1935b41468f56a7d04cad9a124722a5439d571d70c83d696cd5dac9"


def test_train_split_is_deterministic_and_disjoint_from_test() -> None:
    test_questions = {item.question for item in arith.test_split()}
    train = arith.train_split(3000)
    assert train == arith.train_split(3000)
    assert train != arith.train_split(3000, seed=arith.TRAIN_SEED + 1)
    assert not test_questions & {item.question for item in train}
    assert all(int(item.answer) == _recompute(item.question) for item in train[:200])
    for seed in range(20):  # any seed is allowed: none repeats a test question
        assert not test_questions & {item.question for item in arith.train_split(500, seed)}


def test_the_package_holds_no_seed_that_draws_the_test_split() -> None:
    # The test split is data; the generator's code and constants cannot draw it again, so
    # an agent can only get the items by opening the (watched) test file.
    test = [item.question for item in arith.test_split()[:24]]
    constants = {v for v in vars(arith).values() if isinstance(v, int) and not isinstance(v, bool)}
    for seed in constants | set(range(200)):
        drawn = arith._draw(24, seed, "x", lambda question: False)
        assert [item.question for item in drawn] != test, seed


def test_training_messages_are_trl_prompt_completion_records() -> None:
    item = arith.train_split(1)[0]
    (record,) = arith.training_messages([item])
    assert record == {
        "prompt": [{"role": "user", "content": item.question}],
        "completion": [{"role": "assistant", "content": f"The answer is {item.answer}."}],
    }
    assert arith.extract_last_integer(record["completion"][0]["content"]) == item.answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 12.", "12"),
        ("5 apples and 7 more: 12", "12"),
        ("It is 007", "7"),
        ("minus -3", "-3"),
        ("no digits here", None),
        ("", None),
    ],
)
def test_extract_last_integer(text: str, expected: str | None) -> None:
    assert arith.extract_last_integer(text) == expected


def test_registry_and_declarations() -> None:
    bench = get_benchmark("arith")
    assert isinstance(bench, arith.Arith)
    assert bench.toy
    assert bench.generation.temperature == 0.0
    assert bench.test_items() == arith.test_split()
    assert "train_split" in bench.allowed_training_data
    assert len(bench.task(limit=5).dataset) == 5
    assert len(bench.task().dataset) == arith.TEST_SIZE


def _mock_output(reply: str) -> ModelOutput:
    from inspect_ai.model import ModelOutput, ModelUsage

    output = ModelOutput.from_content("mockllm/model", reply)
    # With usage unset, mockllm counts tokens with tiktoken, which downloads its tables.
    output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return output


def test_scorer_with_mock_model(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    items = arith.test_split()[:4]
    wrong = str(int(items[1].answer) + 1)
    replies = [
        f"The answer is {items[0].answer}.",  # right
        f"The answer is {wrong}.",  # wrong
        "I do not know.",  # no number at all
        f"First I thought 99, but it is {items[3].answer}",  # the last integer counts
    ]
    model = get_model(
        "mockllm/model",
        custom_outputs=[_mock_output(reply) for reply in replies],
    )
    (log,) = inspect_eval(
        arith.Arith().task(limit=4),
        model=model,
        max_samples=1,  # one at a time, so replies meet samples in order
        display="none",
        log_dir=str(tmp_path),
    )
    assert log.status == "success"
    assert log.samples is not None
    values = {sample.id: next(iter((sample.scores or {}).values())).value for sample in log.samples}
    assert values == {items[0].id: "C", items[1].id: "I", items[2].id: "I", items[3].id: "C"}
    assert log.results is not None
    assert log.results.scores[0].metrics["accuracy"].value == pytest.approx(0.5)
