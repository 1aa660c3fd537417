"""GPQA main: 448 graduate-level multiple-choice science questions, with chain of thought.

Data: ``Idavidrein/gpqa`` (gated; ``gpqa_main.csv``) at a pinned revision. The raw file
lists the correct answer first, so the four choices are shuffled; unlike upstream, the
shuffle is seeded per question (``SHUFFLE_SEED`` and the record id), so every run, and
every ``--limit``, shows each question with the same choice order. The solver and scorer
are inspect-ai's ``multiple_choice(cot=True)`` and ``choice()``.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from typing_extensions import override

from posttrainbench.benchmarks.base import Benchmark, GenerationSettings, TestItem, TwinPair
from posttrainbench.benchmarks.data import HubDataset

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.dataset import Sample

__all__ = ["GPQA", "SHUFFLE_SEED", "GpqaItem", "GpqaMain", "gpqa_items"]

GPQA = HubDataset(
    repo_id="Idavidrein/gpqa",
    revision="633f5ee89ab8ad4522a9f850766b73f62147ffdd",
    files=("gpqa_main.csv",),
    gated=True,
)
"""The pinned source."""
SHUFFLE_SEED = 20250101
"""Seed of the per-question choice shuffle."""

_LETTERS = "ABCD"


@dataclass(frozen=True)
class GpqaItem:
    """A GPQA question with its four choices in presentation order."""

    id: str
    question: str
    answer: str
    """Text of the correct choice."""
    choices: tuple[str, ...]
    """The four choices, shuffled."""

    @property
    def target(self) -> str:
        """Letter of the correct choice in presentation order."""
        return _LETTERS[self.choices.index(self.answer)]


def _shuffled(record_id: str, correct: str, wrong: list[str]) -> tuple[str, ...]:
    choices = [correct, *wrong]
    random.Random(f"{SHUFFLE_SEED}:{record_id}").shuffle(choices)
    return tuple(choices)


def gpqa_items() -> tuple[GpqaItem, ...]:
    """Every question of ``gpqa_main`` in file order, choices shuffled (seeded)."""
    return _read(GPQA.path(GPQA.files[0]))


@cache
def _read(path: Path) -> tuple[GpqaItem, ...]:
    items: list[GpqaItem] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            record_id = row["Record ID"].strip()
            correct = row["Correct Answer"].strip()
            wrong = [row[f"Incorrect Answer {n}"].strip() for n in (1, 2, 3)]
            items.append(
                GpqaItem(
                    id=record_id,
                    question=row["Question"].strip(),
                    answer=correct,
                    choices=_shuffled(record_id, correct, wrong),
                )
            )
    return tuple(items)


def _presented(item_id: str, question: str, choices: tuple[str, ...], answer: str) -> TestItem:
    """A question with its lettered choices, answered by the letter of ``answer``."""
    lines = [f"{letter}) {choice}" for letter, choice in zip(_LETTERS, choices, strict=False)]
    letter = _LETTERS[choices.index(answer)]
    return TestItem(item_id, question + "\n\n" + "\n".join(lines), f"ANSWER: {letter}")


def memorization_twins(items: Sequence[GpqaItem], seed: int) -> list[TwinPair]:
    """Each question with its choices reordered: the correct one moves, distractors shuffle."""
    from posttrainbench.benchmarks._twins import item_rng

    pairs = []
    for item in items:
        rng = item_rng(seed, item.id)
        choices = list(item.choices)
        for _ in range(50):
            rng.shuffle(choices)
            if choices.index(item.answer) != item.choices.index(item.answer):
                break
        twin = _presented(item.id, item.question, tuple(choices), item.answer)
        verbatim = _presented(item.id, item.question, item.choices, item.answer)
        pairs.append(TwinPair(verbatim, twin, answer_recomputed=True))
    return pairs


class GpqaMain(Benchmark):
    """GPQA main set (448 questions), multiple choice with chain of thought."""

    id = "gpqamain"
    title = "GPQA main (graduate-level science, multiple choice)"
    default_limit = 50
    generation = GenerationSettings(
        max_tokens=16000, temperature=0.0, fallback_max_tokens=(12000, 8000)
    )
    allowed_training_data = "None: no GPQA question (main, diamond or extended) may be trained on."
    data_sources = (GPQA,)

    seed_shuffles = True

    @override
    def for_seed(self, sample: Sample, seed: int) -> Sample:
        """The choices in the order ``seed`` gives them (upstream: the seed shuffles them)."""
        choices = list(sample.choices or [])
        target = sample.target if isinstance(sample.target, str) else sample.target[0]
        order = list(range(len(choices)))
        random.Random(f"{seed}:{sample.id}").shuffle(order)
        sample.choices = [choices[index] for index in order]
        sample.target = _LETTERS[order.index(_LETTERS.index(target))]
        return sample

    @override
    def test_items(self) -> list[TestItem]:
        """The 448 questions; ``answer`` is the text of the correct choice."""
        return [TestItem(id=i.id, question=i.question, answer=i.answer) for i in gpqa_items()]

    @override
    def iter_test_texts(self) -> Iterator[str]:
        """Questions and every choice (a wrong choice is test data too)."""
        for item in gpqa_items():
            yield item.question
            yield from item.choices

    @override
    def memorization_twins(self, seed: int) -> list[TwinPair]:
        """Choices reordered and distractors shuffled; the answer letter follows."""
        return memorization_twins(gpqa_items(), seed)

    @override
    def task(self, limit: int | None = None) -> Task:
        """inspect-ai's multiple-choice template with chain of thought; ``choice()`` scorer."""
        from inspect_ai.dataset import Sample
        from inspect_ai.scorer import choice
        from inspect_ai.solver import multiple_choice

        samples = [
            Sample(input=item.question, choices=list(item.choices), target=item.target, id=item.id)
            for item in gpqa_items()[:limit]
        ]
        return self._build_task(samples, multiple_choice(cot=True), choice())
