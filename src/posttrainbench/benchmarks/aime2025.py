r"""AIME 2025: the 30 problems of the 2025 American Invitational Mathematics Examination.

Data: ``math-ai/aime25`` (test split, ``test.jsonl``) at a pinned revision. Every answer
is an integer from 0 to 999; a completion is correct when the integer it commits to
(``ANSWER:`` line, else ``\boxed{}``, else its last number) equals the answer. A boxed
expression that is not a plain integer (``\boxed{\frac{24}{2}}``) is evaluated with
math-verify.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from posttrainbench.benchmarks._answers import answer_scorer, extract_answer, normalise_number
from posttrainbench.benchmarks.base import Benchmark, GenerationSettings, TestItem
from posttrainbench.benchmarks.data import HubDataset

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.scorer import Scorer

__all__ = ["AIME25", "Aime2025", "integer_answer", "integer_value"]

AIME25 = HubDataset(
    repo_id="math-ai/aime25",
    revision="563bb8404243c5f09de6ec262f2db674fe5bce9b",
    files=("test.jsonl",),
)
"""The pinned source (the same revision inspect_evals uses)."""


def _records() -> tuple[dict[str, Any], ...]:
    return _read(AIME25.path(AIME25.files[0]))


@cache
def _read(path: Path) -> tuple[dict[str, Any], ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def _math_verify_integer(expression: str) -> int | None:
    """The integer value of a LaTeX expression, via math-verify (None if not an integer)."""
    from math_verify import parse  # type: ignore[import-untyped]

    try:
        parsed = parse(f"${expression}$")
    except Exception:
        return None
    for value in parsed:
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if number.is_integer():
            return int(number)
    return None


def integer_value(answer: str | None) -> int | None:
    """The integer an extracted answer stands for (``"070"`` -> 70; ``"12.5"`` -> None)."""
    if answer is None:
        return None
    if any(char in answer for char in "\\{}^/"):
        return _math_verify_integer(answer)
    plain = normalise_number(answer)
    if plain is None or not plain.lstrip("-").isdigit():
        return None
    return int(plain)


def _committed_integer(completion: str) -> str | None:
    value = integer_value(extract_answer(completion))
    return None if value is None else str(value)


def _same_integer(answer: str | None, target: str) -> bool:
    return answer is not None and int(answer) == int(target)


def integer_answer() -> Scorer:
    """A scorer: correct when the committed answer is the target integer."""
    return answer_scorer("integer_match", _committed_integer, _same_integer)


class Aime2025(Benchmark):
    """AIME 2025 I and II (30 problems), exact integer answers."""

    id = "aime2025"
    title = "AIME 2025 (competition math, integer answers)"
    default_limit = None
    generation = GenerationSettings(
        max_tokens=16000, temperature=0.0, fallback_max_tokens=(12000, 8000)
    )
    allowed_training_data = "None: no AIME 2025 problem or answer may be trained on."
    data_sources = (AIME25,)

    @override
    def test_items(self) -> list[TestItem]:
        """The 30 problems in the dataset's order."""
        return [
            TestItem(
                id=f"aime2025-{record.get('id', index)}",
                question=str(record["problem"]),
                answer=str(record["answer"]),
            )
            for index, record in enumerate(_records())
        ]

    @override
    def task(self, limit: int | None = None) -> Task:
        """inspect_evals' AIME prompt (step by step, ``ANSWER:`` last line), greedy."""
        from inspect_ai.solver import generate, prompt_template
        from inspect_evals.utils.aime_common import USER_PROMPT_TEMPLATE

        solver = [prompt_template(USER_PROMPT_TEMPLATE), generate()]
        return self._build_task(self._question_samples(limit), solver, integer_answer())
