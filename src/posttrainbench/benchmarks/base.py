"""What every benchmark declares: data, task, generation settings, allowed training data."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from typing_extensions import override

from posttrainbench.errors import UserError

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import Scorer
    from inspect_ai.solver import Solver

    from posttrainbench.benchmarks.data import DataSource

__all__ = [
    "AllowedExample",
    "Benchmark",
    "GenerationSettings",
    "Judge",
    "JudgedBenchmark",
    "TestItem",
    "TwinPair",
]

_T = TypeVar("_T")


class Judge(Protocol):
    """An LLM judge that judge-scored benchmarks grade with (the harness supplies one).

    ``ask`` sends chat ``messages`` and returns ``parse(reply)``; a failed call or a reply
    that ``parse`` rejects (``ValueError``) is retried, and raises once retries run out,
    so a judge failure is never counted as a win or a loss.
    """

    async def ask(self, messages: list[dict[str, str]], parse: Callable[[str], _T]) -> _T:
        """The parsed reply of the judge to ``messages``."""
        ...


@dataclass(frozen=True)
class GenerationSettings:
    """Sampling pinned by the benchmark (the submitted model's own config is ignored)."""

    max_tokens: int
    """Upper bound on new tokens per answer."""
    temperature: float = 0.0
    """0 means greedy decoding."""
    fallback_max_tokens: tuple[int, ...] = ()
    """Smaller limits to retry with when an evaluation attempt fails (OOM, timeout)."""


@dataclass(frozen=True)
class TestItem:
    """One held-out item: what the model is asked and the reference answer."""

    id: str
    question: str
    answer: str


@dataclass(frozen=True)
class TwinPair:
    """A test item as the model is shown it, and its perturbed twin (memorization test)."""

    verbatim: TestItem
    """The test item: prompt text and reference answer as the evaluation presents them."""
    twin: TestItem
    """The same item perturbed (numbers, choice order, names, words); never shown to the
    agent, so only a model that memorised ``verbatim`` prefers it to the twin."""
    answer_recomputed: bool
    """True when the twin's answer is correct for the twin; False when it is the
    original's answer kept as text (no generator to recompute it)."""


@dataclass(frozen=True)
class AllowedExample:
    """One solved example from data the rules allow: a user turn and the assistant's reply."""

    question: str
    reply: str


class Benchmark(ABC):
    """A benchmark the agent must post-train for; evaluated with inspect-ai."""

    id: str
    """Registry id, e.g. ``gsm8k``."""
    title: str
    """Human-readable name used in the agent's prompt and in tables."""
    toy: bool = False
    """True for synthetic demo benchmarks whose numbers mean nothing outside the harness."""
    default_limit: int | None = None
    """Items the agent-facing evaluate.py uses by default (None: all)."""
    generation: GenerationSettings
    allowed_training_data: str = "none declared"
    """Plain-language description of data the rules explicitly allow for training."""
    data_sources: tuple[DataSource, ...] = ()
    """Where the test (and allowed training) data comes from; read offline, fetched by
    ``ptb data fetch``. Empty for synthetic benchmarks."""
    has_allowed_examples: bool = False
    """Whether :meth:`allowed_examples` can draw solved examples from allowed data."""

    def allowed_examples(self, count: int, seed: int) -> list[AllowedExample]:
        """Up to ``count`` solved examples from allowed (non-test) data, fixed for ``seed``.

        Benchmarks whose rules allow training data override this (and set
        ``has_allowed_examples``); the default has none. Callers drop any example whose
        question is also a test question.
        """
        return []

    @abstractmethod
    def test_items(self) -> list[TestItem]:
        """The full held-out test split, in a fixed order."""

    @abstractmethod
    def task(self, limit: int | None = None) -> Task:
        """An inspect-ai task over the first ``limit`` test items (all when None)."""

    judged: bool = False
    """True when scoring calls an LLM judge: evaluate with ``judged_task`` then."""

    def judged_task(self, judge: Judge, limit: int | None = None) -> Task:
        """The task of a judge-scored benchmark, grading with ``judge``."""
        raise NotImplementedError(f"{self.id} is not scored by an LLM judge")

    seed_shuffles: bool = False
    """True when the evaluation seed also changes the items (GPQA's choice order), so a
    greedy model is still evaluated with every seed."""

    def for_seed(self, sample: Sample, seed: int) -> Sample:
        """``sample`` as the final evaluation presents it under ``seed`` (default: as is)."""
        return sample

    def iter_test_texts(self) -> Iterator[str]:
        """Every question and answer text, for contamination scanning."""
        for item in self.test_items():
            yield item.question
            yield item.answer

    def memorization_twins(self, seed: int) -> list[TwinPair]:
        """Each test item with a perturbed twin generated from ``seed``.

        The default changes every number of the question (consistently, same digit count;
        a light rewrite when it has none) and keeps the reference answer as text;
        benchmarks with more structure override it.
        """
        from posttrainbench.benchmarks._twins import item_rng, perturbed_question

        return [
            TwinPair(
                verbatim=item,
                twin=TestItem(
                    item.id, perturbed_question(item.question, item_rng(seed, item.id)), item.answer
                ),
                answer_recomputed=False,
            )
            for item in self.test_items()
        ]

    def _question_samples(self, limit: int | None) -> list[Sample]:
        """The first ``limit`` test items as samples: the question in, the answer as target."""
        from inspect_ai.dataset import Sample

        items = self.test_items()[:limit]
        return [Sample(input=item.question, target=item.answer, id=item.id) for item in items]

    def _build_task(
        self, samples: Sequence[Sample], solver: Solver | list[Solver], scorer: Scorer
    ) -> Task:
        """An inspect-ai task over ``samples`` with the benchmark's id and generation settings."""
        from inspect_ai import Task
        from inspect_ai.dataset import MemoryDataset
        from inspect_ai.model import GenerateConfig

        return Task(
            name=self.id,
            dataset=MemoryDataset(list(samples), name=self.id),
            solver=solver,
            scorer=scorer,
            config=GenerateConfig(
                max_tokens=self.generation.max_tokens, temperature=self.generation.temperature
            ),
        )


class JudgedBenchmark(Benchmark):
    """A benchmark scored by an LLM judge: it has a task only once a judge is given."""

    judged = True

    @override
    def task(self, limit: int | None = None) -> Task:
        """Not available without a judge: use ``judged_task``."""
        raise UserError(
            f"{self.id} is scored by an LLM judge: evaluate it with "
            "posttrainbench.evaluation.evaluate_model (or `ptb eval`)."
        )

    @abstractmethod
    @override
    def judged_task(self, judge: Judge, limit: int | None = None) -> Task:
        """The task, grading with ``judge``."""
