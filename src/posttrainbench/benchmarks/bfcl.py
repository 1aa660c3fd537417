"""BFCL exec_simple: answer a request with exactly one call of the one function offered.

Data: ``BFCL_v3_exec_simple.json`` (JSON lines, 100 items) of the Hugging Face dataset
``gorilla-llm/Berkeley-Function-Calling-Leaderboard``, the source PostTrainBench used.
Each item has a user turn, one function schema and the ground-truth call as Python source
(``calc(n=20, p=0.6)``). The function is offered as a native tool. Scoring is what
upstream's final evaluation runs, ``inspect_evals.bfcl()``'s AST matcher for the ``simple``
category: exactly one tool call over the conversation, its name the ground truth's, every
required parameter present, each argument equal to the expected value after inspect_evals'
type coercion (an ``int`` where a ``float`` is declared, a tuple for a list), and an extra
optional argument accepted when it equals the schema's default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from posttrainbench.benchmarks.base import Benchmark, GenerationSettings, TestItem, TwinPair
from posttrainbench.benchmarks.data import HubDataset

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.scorer import Scorer
    from inspect_ai.solver import Solver

__all__ = [
    "BFCL",
    "Bfcl",
    "BfclItem",
    "bfcl_items",
    "call_verdict",
    "one_matching_call",
    "offer_tools",
]

BFCL = HubDataset(
    repo_id="gorilla-llm/Berkeley-Function-Calling-Leaderboard",
    # The hub repository is frozen at its v3 files (BFCL moved its data to GitHub), but
    # no commit of it could be verified offline: the branch is named, and `ptb data
    # fetch` records the commit it resolves to in the cache.
    revision="main",
    files=("BFCL_v3_exec_simple.json",),
)
"""The source."""


@dataclass(frozen=True)
class BfclItem:
    """One exec_simple item."""

    id: str
    messages: tuple[dict[str, str], ...]
    """The conversation (one user turn)."""
    functions: tuple[dict[str, Any], ...]
    """Function schemas offered as tools."""
    ground_truth: str
    """The expected call as Python source, e.g. ``f(a=1)``."""

    def expected_call(self) -> tuple[str, dict[str, Any]]:
        """``(function name, arguments)`` of the ground truth."""
        from inspect_evals.bfcl.utils import ast_parse, normalize_function_name

        calls = ast_parse(self.ground_truth)
        if len(calls) != 1 or len(calls[0]) != 1:
            raise ValueError(f"{self.id}: ground truth is not one call: {self.ground_truth}")
        ((name, arguments),) = calls[0].items()
        return normalize_function_name(name), dict(arguments)


def bfcl_items() -> tuple[BfclItem, ...]:
    """The exec_simple items in file order."""
    return _read(BFCL.path(BFCL.files[0]))


@cache
def _read(path: Path) -> tuple[BfclItem, ...]:
    text = path.read_text(encoding="utf-8")
    items: list[BfclItem] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        turns = record["question"]
        items.append(
            BfclItem(
                id=str(record["id"]),
                messages=tuple(turns[0]),
                functions=tuple(record["function"]),
                ground_truth=str(record["ground_truth"][0]),
            )
        )
    return tuple(items)


def _message(turn: dict[str, str]) -> Any:
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser

    if turn.get("role") == "system":
        return ChatMessageSystem(content=turn["content"])
    return ChatMessageUser(content=turn["content"])


def offer_tools() -> Solver:
    """A solver: offer the item's functions as tools and generate without running them."""
    from inspect_ai.solver import Generate, TaskState, solver
    from inspect_evals.bfcl.utils import create_tool_info_from_dict

    @solver
    def bfcl_tools() -> Solver:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            # generate() takes ToolInfo (a schema without an implementation) as well.
            tools: list[Any] = [create_tool_info_from_dict(f) for f in state.metadata["functions"]]
            state.tools.extend(tools)
            return await generate(state, tool_calls="none")

        return solve

    return bfcl_tools()


def call_verdict(
    calls: list[Any], ground_truth: str, functions: list[dict[str, Any]]
) -> tuple[bool, str]:
    """Whether ``calls`` (inspect ``ToolCall``s) are the ground truth's one call, and why."""
    from inspect_evals.bfcl.score.scorer import tool_call_matches_possible_answers
    from inspect_evals.bfcl.utils.function_parsing import parse_exec_ground_truth

    if len(calls) != 1:
        return False, f"Expected 1 function call, got {len(calls)}"
    expected = parse_exec_ground_truth(ground_truth)[0]
    schema = functions[0] if functions else None
    result = tool_call_matches_possible_answers(calls[0], expected, schema, "python")
    return bool(result["valid"]), "; ".join(result.get("error", [])) or "Correct"


def one_matching_call() -> Scorer:
    """A scorer: inspect_evals' BFCL ``simple`` verdict over every tool call of the reply."""
    from inspect_ai.model import ChatMessageAssistant
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer, stderr
    from inspect_ai.solver import TaskState

    @scorer(metrics=[accuracy(), stderr()])
    def exact_tool_call() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            calls = [
                call
                for message in state.messages
                if isinstance(message, ChatMessageAssistant)
                for call in message.tool_calls or []
            ]
            correct, why = call_verdict(
                calls, state.metadata["ground_truth"], state.metadata["functions"]
            )
            got = "; ".join(
                f"{call.function}({json.dumps(call.arguments, sort_keys=True)})" for call in calls
            )
            return Score(value=CORRECT if correct else INCORRECT, answer=got, explanation=why)

        return score

    return exact_tool_call()


class Bfcl(Benchmark):
    """BFCL v3 exec_simple (100 single function calls)."""

    id = "bfcl"
    title = "BFCL (function calling, exec_simple)"
    default_limit = None
    generation = GenerationSettings(
        max_tokens=16000, temperature=0.0, fallback_max_tokens=(12000, 8000)
    )
    allowed_training_data = (
        "None from BFCL: note that the hub dataset's only split ('train') holds the "
        "evaluation data itself."
    )
    data_sources = (BFCL,)

    @override
    def test_items(self) -> list[TestItem]:
        """The items; ``question`` is the user turn, ``answer`` the expected call."""
        return [
            TestItem(
                id=item.id,
                question="\n".join(message["content"] for message in item.messages),
                answer=item.ground_truth,
            )
            for item in bfcl_items()
        ]

    @override
    def memorization_twins(self, seed: int) -> list[TwinPair]:
        """Numeric argument values changed in the request and the expected call alike."""
        from posttrainbench.benchmarks._twins import change_numbers, item_rng, light_rewrite

        pairs = []
        for item in self.test_items():
            rng = item_rng(seed, item.id)
            mapping: dict[str, str] = {}
            question = change_numbers(item.question, rng, mapping)
            answer = change_numbers(item.answer, rng, mapping)
            recomputed = question != item.question
            if not recomputed:  # no number to change: reword the request, keep the call
                question = light_rewrite(item.question, rng)
            pairs.append(TwinPair(item, TestItem(item.id, question, answer), recomputed))
        return pairs

    @override
    def task(self, limit: int | None = None) -> Task:
        """Native tool calling (no execution), scored on one exactly matching call."""
        from inspect_ai.dataset import Sample

        samples = []
        for item in bfcl_items()[:limit]:
            name, arguments = item.expected_call()
            samples.append(
                Sample(
                    input=[_message(m) for m in item.messages],
                    target=item.ground_truth,
                    id=item.id,
                    metadata={
                        "functions": list(item.functions),
                        "expected_name": name,
                        "expected_args": arguments,
                        "ground_truth": item.ground_truth,
                    },
                )
            )
        return self._build_task(samples, offer_tools(), one_matching_call())
