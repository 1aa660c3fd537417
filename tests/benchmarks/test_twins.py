"""Perturbed twins for the memorization test: deterministic, different, per benchmark."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from posttrainbench.benchmarks import TwinPair, get_benchmark
from posttrainbench.benchmarks import arith as arith_module
from posttrainbench.benchmarks.aime2025 import AIME25
from posttrainbench.benchmarks.arenahardwriting import load_items
from posttrainbench.benchmarks.bfcl import BFCL
from posttrainbench.benchmarks.gpqa import GPQA
from posttrainbench.benchmarks.gsm8k import GSM8K
from posttrainbench.benchmarks.healthbench import load_examples


def _parquet(records: list[dict[str, Any]]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(records), sink)
    return bytes(sink.getvalue().to_pybytes())


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _gpqa_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["Record ID", "Question", "Correct Answer"] + [f"Incorrect Answer {n}" for n in (1, 2, 3)]
    )
    for n in range(4):
        writer.writerow([f"rec{n}", f"Which particle {n}?", f"right {n}", "w1", "w2", "w3"])
    return buffer.getvalue().encode()


@pytest.fixture
def all_data(hub: Any) -> None:
    """Fixture data for every benchmark with a download (HumanEval ships in its package)."""
    gsm = [
        {
            "question": "Natalia sold 48 clips in April and half as many in May. How many?",
            "answer": "48/2 = 24 in May. 48+24 = 72 #### 72",
        },
        {
            "question": "Weng earns $12 an hour. She worked 50 minutes. How much?",
            "answer": "12/60 = 0.2 per minute. 0.2 x 50 = 10 #### 10",
        },
    ]
    hub.put(GSM8K, GSM8K.files[0], _parquet(gsm))
    hub.put(GSM8K, GSM8K.files[1], _parquet(gsm))
    hub.put_jsonl(
        AIME25,
        "test.jsonl",
        [
            {
                "id": 1,
                "problem": "Find the sum of all bases b > 9 for which 17_b divides 97_b.",
                "answer": "70",
            },
        ],
    )
    hub.put(GPQA, "gpqa_main.csv", _gpqa_csv())
    hub.put_jsonl(
        BFCL,
        "BFCL_v3_exec_simple.json",
        [
            {
                "id": "exec_simple_0",
                "question": [
                    [{"role": "user", "content": "Odds of 5 sixes in 20 rolls at p=0.6?"}]
                ],
                "function": [{"name": "calc", "parameters": {}}],
                "ground_truth": ["calc(n=20, k=5, p=0.6)"],
            },
        ],
    )
    url = hub.root / "url"
    _jsonl(
        url / "arena-hard-v2.0" / "question.jsonl",
        [
            {
                "uid": "a1",
                "category": "creative_writing",
                "prompt": "Write a short poem about a big old house.",
            },
        ],
    )
    _jsonl(
        url / "arena-hard-v2.0" / "baseline-qwen3-1.7b.jsonl",
        [
            {
                "uid": "a1",
                "messages": [{"role": "assistant", "content": {"answer": "The old house stands."}}],
            },
        ],
    )
    turns = [
        {"role": ["user", "assistant"][i % 2], "content": f"My child has pain, day {i}."}
        for i in range(5)
    ]
    _jsonl(
        url / "healthbench" / "oss_eval.jsonl",
        [
            {
                "prompt_id": "h1",
                "prompt": turns,
                "rubrics": [
                    {
                        "criterion": "Advises a doctor visit",
                        "points": 5,
                        "tags": ["axis:completeness"],
                    }
                ],
            },
        ],
    )
    load_items.cache_clear()
    load_examples.cache_clear()


BENCHMARKS = [
    "arith",
    "arith-mini",
    "gsm8k",
    "aime2025",
    "gpqamain",
    "humaneval",
    "bfcl",
    "arenahardwriting",
    "healthbench",
]


@pytest.mark.parametrize("name", BENCHMARKS)
def test_twins_are_deterministic_and_differ_from_the_items(all_data: None, name: str) -> None:
    benchmark = get_benchmark(name)
    pairs = benchmark.memorization_twins(0)
    assert pairs == benchmark.memorization_twins(0)
    assert len(pairs) == len(benchmark.test_items())
    for pair in pairs:
        assert pair.twin.id == pair.verbatim.id
        assert pair.twin.question != pair.verbatim.question
    other = benchmark.memorization_twins(1)
    assert [p.twin for p in other] != [p.twin for p in pairs]


def test_arith_twins_are_fresh_draws_with_recomputed_answers() -> None:
    test_questions = {item.question for item in arith_module.test_split()}
    for pair in arith_module.Arith().memorization_twins(0):
        assert pair.answer_recomputed and pair.twin.question not in test_questions
        first, second = (int(n) for n in arith_module._INTEGER.findall(pair.twin.question)[:2])
        expected = first + second if " more." in pair.twin.question else first - second
        assert pair.twin.answer == arith_module.answer_text(str(expected))


def _only(name: str) -> TwinPair:
    (pair,) = get_benchmark(name).memorization_twins(0)[:1]
    return pair


def test_each_benchmark_perturbs_what_a_memoriser_would_have_learned(all_data: None) -> None:
    gsm = _only("gsm8k")
    assert "48" not in gsm.twin.question and gsm.twin.answer == gsm.verbatim.answer
    gpqa = _only("gpqamain")
    assert gpqa.twin.answer != gpqa.verbatim.answer  # the correct choice moved

    def choices(text: str) -> list[str]:
        return sorted(line[3:] for line in text.splitlines() if line[1:3] == ") ")

    assert choices(gpqa.twin.question) == choices(gpqa.verbatim.question)
    assert gpqa.twin.question != gpqa.verbatim.question
    bfcl = _only("bfcl")
    assert bfcl.answer_recomputed and "20" not in bfcl.twin.answer
    new_n = bfcl.twin.answer.split("n=")[1].split(",")[0]
    assert f"in {new_n} rolls" in bfcl.twin.question  # the call follows the request
    human = _only("humaneval")
    assert "has_close_elements" not in human.twin.question + human.twin.answer
    compile(human.twin.question + human.twin.answer, "twin", "exec")  # still a program
