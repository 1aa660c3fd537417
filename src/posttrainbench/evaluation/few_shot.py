"""Few-shot examples for the ``baseline-few-shot`` rows, drawn from allowed data only.

The benchmark supplies the examples (:meth:`Benchmark.allowed_examples`); evaluation only
places them before each question, so a score never depends on who trained the model.

The examples come from each benchmark's explicitly allowed (non-test) training data with a
fixed seed, so every run shows the same examples; any example whose question is also a
test question is dropped. Benchmarks whose rules allow no training data have no few-shot
row: :func:`few_shot_examples` raises :class:`NoAllowedData` for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from posttrainbench.errors import UserError

if TYPE_CHECKING:
    from inspect_ai import Task

    from posttrainbench.benchmarks import AllowedExample, Benchmark

__all__ = [
    "DEFAULT_SHOTS",
    "FEW_SHOT_SEED",
    "NoAllowedData",
    "few_shot_examples",
    "has_allowed_data",
    "with_few_shot",
]

FEW_SHOT_SEED = 1234
"""Seed of the draw of examples (fixed: the few-shot row is deterministic)."""
DEFAULT_SHOTS = 5
"""Examples shown before each question when the agent config names none."""


class NoAllowedData(UserError):
    """The benchmark's rules allow no training data to draw examples from."""


def has_allowed_data(benchmark: Benchmark) -> bool:
    """Whether ``benchmark`` has allowed non-test data that few-shot examples can use."""
    return benchmark.has_allowed_examples


def few_shot_examples(
    benchmark: Benchmark, k: int, seed: int = FEW_SHOT_SEED
) -> list[AllowedExample]:
    """``k`` examples from ``benchmark``'s allowed training data, the same for a seed.

    Raises:
        NoAllowedData: The benchmark allows no training data (the few-shot row is skipped).
        DatasetUnavailable: The allowed data is not cached on this machine.
    """
    if not has_allowed_data(benchmark):
        raise NoAllowedData(
            f"{benchmark.id} allows no training data ({benchmark.allowed_training_data}); "
            "it has no few-shot baseline."
        )
    if k <= 0:
        return []
    test_questions = {item.question.strip() for item in benchmark.test_items()}
    pool = benchmark.allowed_examples(k + len(test_questions), seed)
    clean = [example for example in pool if example.question.strip() not in test_questions]
    return clean[:k]


def with_few_shot(task: Task, examples: list[AllowedExample]) -> Task:
    """``task`` with ``examples`` as user/assistant turns before each question.

    The turns go after any system message the benchmark sets, so its own instructions keep
    coming first.
    """
    from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser
    from inspect_ai.solver import Generate, Solver, TaskState, chain, solver

    turns = [
        message
        for example in examples
        for message in (
            ChatMessageUser(content=example.question),
            ChatMessageAssistant(content=example.reply),
        )
    ]

    @solver
    def few_shot_turns() -> Solver:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            # Placed before the first non-system message: later solvers still see the
            # question as the last user turn.
            at = next(
                (i for i, m in enumerate(state.messages) if not isinstance(m, ChatMessageSystem)),
                len(state.messages),
            )
            state.messages[at:at] = list(turns)
            return state

        return solve

    task.solver = chain(few_shot_turns(), task.solver)
    return task
