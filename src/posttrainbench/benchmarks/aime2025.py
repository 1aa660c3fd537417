r"""AIME 2025: the 30 problems of the 2025 American Invitational Mathematics Examination.

Data: ``math-ai/aime25`` (test split, ``test.jsonl``) at a pinned revision. Every answer
is an integer from 0 to 999; a completion is scored as inspect_evals' ``aime_scorer`` (what
upstream's final evaluation runs): the last number of its last line (``\boxed{}`` unwrapped)
must equal the answer. LaTeX is not evaluated (``\boxed{\frac{24}{2}}`` is wrong).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from posttrainbench.benchmarks._numeric import aime_verdict, verdict_scorer
from posttrainbench.benchmarks.base import Benchmark, GenerationSettings, TestItem
from posttrainbench.benchmarks.data import HubDataset

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.scorer import Scorer

__all__ = ["AIME25", "Aime2025", "integer_answer"]

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


def integer_answer() -> Scorer:
    """A scorer: inspect_evals' AIME rule, compared by value (see ``_numeric``)."""
    return verdict_scorer("integer_match", aime_verdict)


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
