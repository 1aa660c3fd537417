"""What every benchmark declares: data, task, generation settings, allowed training data."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspect_ai import Task

__all__ = ["Benchmark", "GenerationSettings", "TestItem"]


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

    @abstractmethod
    def test_items(self) -> list[TestItem]:
        """The full held-out test split, in a fixed order."""

    @abstractmethod
    def task(self, limit: int | None = None) -> Task:
        """An inspect-ai task over the first ``limit`` test items (all when None)."""

    def iter_test_texts(self) -> Iterator[str]:
        """Every question and answer text, for contamination scanning."""
        for item in self.test_items():
            yield item.question
            yield item.answer
