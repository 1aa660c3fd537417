"""GSM8K: grade-school math word problems, 10-shot, scored on the final number.

Data: ``openai/gsm8k`` (``main`` config) at a pinned revision; the 1319 test problems are
held out, the 7473 training problems are explicitly allowed training data and supply the
few-shot examples (a seeded draw, the same for every model). The prompt is inspect_evals'
GSM8K prompt; the score is upstream's final-evaluation rule: the signed last number of the
completion, commas removed, equal to the answer by value (see
:mod:`posttrainbench.benchmarks._numeric`).
"""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from posttrainbench.benchmarks._numeric import gsm8k_verdict, verdict_scorer
from posttrainbench.benchmarks.base import (
    AllowedExample,
    Benchmark,
    GenerationSettings,
    TestItem,
)
from posttrainbench.benchmarks.data import HubDataset

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.scorer import Scorer
    from inspect_ai.solver import Solver

__all__ = ["FEWSHOT", "FEWSHOT_SEED", "GSM8K", "Gsm8k", "numeric_answer"]

GSM8K = HubDataset(
    repo_id="openai/gsm8k",
    revision="cc7b047b6e5bb11b4f1af84efc572db110a51b3c",
    files=("main/test-00000-of-00001.parquet", "main/train-00000-of-00001.parquet"),
)
"""The pinned source (the same revision inspect_evals uses)."""
FEWSHOT = 10
"""Solved training problems shown before each question."""
FEWSHOT_SEED = 42
"""Seed of the draw of few-shot examples from the training split."""

_DELIMITER = "####"


def read_parquet_records(path: Path) -> list[dict[str, Any]]:
    """The rows of a parquet file as dictionaries."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    rows: list[dict[str, Any]] = pq.read_table(str(path)).to_pylist()
    return rows


def _split(record: dict[str, Any]) -> tuple[str, str]:
    """``(reasoning, final answer)`` of a GSM8K answer field (``... #### 72``)."""
    reasoning, _, final = str(record["answer"]).rpartition(_DELIMITER)
    return reasoning.strip(), final.strip()


def _records(filename: str) -> tuple[dict[str, Any], ...]:
    return _read(GSM8K.path(filename))


@cache
def _read(path: Path) -> tuple[dict[str, Any], ...]:
    # Keyed by path: another cache directory (PTB_DATA_CACHE) is read afresh.
    return tuple(read_parquet_records(path))


def _test_records() -> tuple[dict[str, Any], ...]:
    return _records(GSM8K.files[0])


def train_records() -> tuple[dict[str, Any], ...]:
    """The allowed training split (``question`` / ``answer`` records)."""
    return _records(GSM8K.files[1])


def fewshot_prompt() -> str:
    """The solved examples shown before each test question (a fixed, seeded draw)."""
    records = list(train_records())
    chosen = random.Random(FEWSHOT_SEED).sample(records, min(FEWSHOT, len(records)))
    blocks = []
    for record in chosen:
        reasoning, final = _split(record)
        blocks.append(f"{record['question']}\n\nReasoning:\n{reasoning}\n\nANSWER: {final}")
    return "\n\n".join(blocks)


def _system_text(text: str) -> Solver:
    """A solver that puts ``text`` first as the system message, verbatim.

    inspect's ``system_message`` formats its template, which worked solutions with braces
    would break.
    """
    from inspect_ai.model import ChatMessageSystem
    from inspect_ai.solver import Generate, TaskState, solver

    @solver
    def fewshot_system() -> Solver:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            state.messages.insert(0, ChatMessageSystem(content=text))
            return state

        return solve

    return fewshot_system()


def numeric_answer() -> Scorer:
    """A scorer: correct when the signed last number of the completion is the target."""
    return verdict_scorer("numeric_match", gsm8k_verdict)


class Gsm8k(Benchmark):
    """GSM8K main test split (1319 problems), 10-shot from the training split."""

    id = "gsm8k"
    title = "GSM8K (grade-school math, 10-shot)"
    default_limit = 150
    generation = GenerationSettings(
        max_tokens=4000, temperature=0.0, fallback_max_tokens=(3000, 2000)
    )
    allowed_training_data = (
        "The GSM8K training split (openai/gsm8k, config main, split train, 7473 "
        "problems), with its worked solutions. Never the test split."
    )
    has_allowed_examples = True

    @override
    def allowed_examples(self, count: int, seed: int) -> list[AllowedExample]:
        """Training problems with their worked solutions, in a seeded shuffle."""
        pool = []
        for record in train_records():
            reasoning, final = _split(record)
            pool.append(AllowedExample(str(record["question"]), f"{reasoning}\n\nANSWER: {final}"))
        random.Random(seed).shuffle(pool)
        return pool[:count]

    data_sources = (GSM8K,)

    @override
    def test_items(self) -> list[TestItem]:
        """The 1319 test problems in the dataset's order."""
        return [
            TestItem(
                id=f"gsm8k-{index:04d}", question=str(record["question"]), answer=_split(record)[1]
            )
            for index, record in enumerate(_test_records())
        ]

    @override
    def task(self, limit: int | None = None) -> Task:
        """10-shot system message, inspect_evals' GSM8K prompt, numeric-match scoring."""
        from inspect_ai.solver import generate, prompt_template
        from inspect_evals.gsm8k.gsm8k import MATH_PROMPT_TEMPLATE

        solver = [_system_text(fewshot_prompt()), prompt_template(MATH_PROMPT_TEMPLATE), generate()]
        return self._build_task(self._question_samples(limit), solver, numeric_answer())
