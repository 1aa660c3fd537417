"""Arena-Hard v2.0 creative writing: pairwise LLM judging against stored baseline answers.

The 250 ``creative_writing`` prompts of Arena-Hard v2.0. Each answer plays two games
against the stored answer of the baseline (Qwen3-1.7B, instruct) to the same prompt: once
as B (baseline as A) and once as A, so position bias cancels. The judge ends its verdict
with a label ``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``, ``[[B>A]]`` or ``[[B>>A]]``; the last
label in the reply counts. From the candidate's side a strong win is a win worth three
games, a win one game, a tie half a win, and losses mirror them. The prompt's score is the
candidate's weighted win rate over its two games; the benchmark's score is the mean over
prompts, with stderr = sample std / sqrt(n). A judge reply without a label is a judge
failure (retried, then reported), never a tie.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from posttrainbench.benchmarks._url_data import UrlFile
from posttrainbench.benchmarks.base import (
    GenerationSettings,
    Judge,
    JudgedBenchmark,
    TestItem,
    TwinPair,
)
from posttrainbench.errors import UserError

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.scorer import Scorer

__all__ = [
    "BASELINE_ANSWERS",
    "QUESTIONS",
    "ArenaHardWriting",
    "ArenaItem",
    "GameResult",
    "clean_answer",
    "game_result",
    "load_items",
    "parse_verdict",
    "prompt_score",
]

_UPSTREAM = (
    "https://raw.githubusercontent.com/aisa-group/PostTrainBench/"
    "50fb7664a3880ed9791edc39e0cbffaf892875aa/src/eval/tasks/arenahardwriting/"
    "evaluation_code/data/arena-hard-v2.0"
)
QUESTIONS = UrlFile("arena-hard-v2.0", f"{_UPSTREAM}/question.jsonl", "question.jsonl")
"""Arena-Hard v2.0 prompts (all categories; creative_writing ones are kept)."""
BASELINE_ANSWERS = UrlFile(
    "arena-hard-v2.0", f"{_UPSTREAM}/model_answer/Qwen3-1.7B.jsonl", "baseline-qwen3-1.7b.jsonl"
)
"""The baseline's stored answers (arena-hard-auto answer records, keyed by ``uid``)."""
CATEGORY = "creative_writing"
SHUFFLE_SEED = 42
"""Order of the prompts (as upstream), so that ``--limit`` takes a fixed random subset."""
MAX_ANSWER_CHARS = 50_000
"""Longer answers are cut before judging (a runaway generation is not worth the tokens)."""

# Upstream's regex_patterns (arena-hard-v2.0.yaml), tried in order on the upper-cased reply.
_LABEL_PATTERNS = (re.compile(r"\[\[([AB<>=]+)\]\]"), re.compile(r"\[([AB<>=]+)\]"))
# The candidate-as-A value and weight of each label upstream's score map knows.
_LABELS: dict[str, tuple[float, int]] = {
    "A>>B": (1.0, 3),
    "A>B": (1.0, 1),
    "A=B": (0.5, 1),
    "B=A": (0.5, 1),
    "B>A": (0.0, 1),
    "A<B": (0.0, 1),
    "B>>A": (0.0, 3),
    "A<<B": (0.0, 3),
    "B<A": (1.0, 1),
    "B<<A": (1.0, 3),
}
_THINK = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL)

JUDGE_SYSTEM_PROMPT = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by"
    " two AI assistants to the user prompt displayed below. You will be given assistant A's"
    " answer and assistant B's answer. Your job is to evaluate which assistant's answer is "
    "better.\n"
    "\n"
    "When evaluating the assistants' answers, compare both assistants' answers. You must "
    "identify and correct any mistakes or inaccurate information.\n"
    "\n"
    "Then consider if the assistant's answers are helpful, relevant, and concise. Helpful "
    "means the answer correctly responds to the prompt or follows the instructions. Note "
    "when user prompt has any ambiguity or more than one interpretation, it is more helpful"
    " and appropriate to ask for clarifications or more information from the user than "
    "providing an answer based on assumptions. Relevant means all parts of the response "
    "closely connect or are appropriate to what is being asked. Concise means the response "
    "is clear and not verbose or excessive.\n"
    "\n"
    "Then consider the creativity and novelty of the assistant's answers when needed. "
    "Finally, identify any missing important information in the assistants' answers that "
    "would be beneficial to include when responding to the user prompt.\n"
    "\n"
    "After providing your explanation, you must output only one of the following choices as"
    " your final verdict with a label:\n"
    "\n"
    "1. Assistant A is significantly better: [[A>>B]]\n"
    "2. Assistant A is slightly better: [[A>B]]\n"
    "3. Tie, relatively the same: [[A=B]]\n"
    "4. Assistant B is slightly better: [[B>A]]\n"
    "5. Assistant B is significantly better: [[B>>A]]\n"
    "\n"
    'Example output: "My final verdict is tie: [[A=B]]".'
)
"""Arena-Hard v2.0's creative-writing judge prompt, verbatim (arena-hard-auto, Apache-2.0),
as upstream's evaluation sends it."""

_JUDGE_USER = """\
<|User Prompt|>
{question}

<|The Start of Assistant A's Answer|>
{answer_a}
<|The End of Assistant A's Answer|>

<|The Start of Assistant B's Answer|>
{answer_b}
<|The End of Assistant B's Answer|>"""


@dataclass(frozen=True)
class ArenaItem:
    """One prompt and the baseline's answer to it."""

    uid: str
    prompt: str
    baseline: str


@dataclass(frozen=True)
class GameResult:
    """One game from the candidate's side: its win value (1, 0.5, 0) and its weight."""

    label: str
    value: float
    weight: int


def parse_verdict(reply: str) -> str:
    """The verdict label of a judge reply (e.g. ``"A>B"``), read as upstream reads it.

    The last ``[[...]]`` label of the upper-cased reply, else the last ``[...]`` one.

    Raises:
        ValueError: No label, or one upstream's score map lacks (upstream drops the first
            and crashes on the second; here the judge call is retried).
    """
    for pattern in _LABEL_PATTERNS:
        found = [match for match in pattern.findall(reply.upper()) if match]
        if found:
            label = str(found[-1]).strip("\n")
            if label not in _LABELS:
                raise ValueError(f"the judge's verdict label [[{label}]] is not a known one")
            return label
    raise ValueError("the judge's reply has no [[A>B]]-style verdict label")


def game_result(label: str, candidate_is_a: bool) -> GameResult:
    """The candidate's result of one game judged ``label``."""
    a_value, weight = _LABELS[label]
    return GameResult(label, a_value if candidate_is_a else 1.0 - a_value, weight)


def prompt_score(games: list[GameResult]) -> float:
    """The candidate's weighted win rate over the games of one prompt."""
    return sum(g.value * g.weight for g in games) / sum(g.weight for g in games)


def clean_answer(text: str) -> str:
    """The answer as judged: a leading ``<think>`` block dropped, runaway length capped."""
    return _THINK.sub("", text, count=1).strip()[:MAX_ANSWER_CHARS]


def _answer_text(record: dict[str, Any]) -> str:
    content = record["messages"][-1]["content"]
    return str(content["answer"] if isinstance(content, dict) else content)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@cache
def load_items() -> tuple[ArenaItem, ...]:
    """The creative-writing prompts with baseline answers, in the benchmark's fixed order."""
    import random

    questions = [q for q in _read_jsonl(QUESTIONS.path()) if q.get("category") == CATEGORY]
    baseline = {r["uid"]: _answer_text(r) for r in _read_jsonl(BASELINE_ANSWERS.path())}
    missing = [q["uid"] for q in questions if q["uid"] not in baseline]
    if missing:
        raise UserError(
            f"The baseline answers lack {len(missing)} prompts (e.g. {missing[0]}): "
            f"{BASELINE_ANSWERS.cache_path} does not belong to {QUESTIONS.cache_path}."
        )
    items = [ArenaItem(str(q["uid"]), str(q["prompt"]), baseline[q["uid"]]) for q in questions]
    items.sort(key=lambda item: item.uid)
    random.Random(SHUFFLE_SEED).shuffle(items)
    return tuple(items)


def _judge_messages(question: str, answer_a: str, answer_b: str) -> list[dict[str, str]]:
    user = _JUDGE_USER.format(question=question, answer_a=answer_a, answer_b=answer_b)
    return [{"role": "system", "content": JUDGE_SYSTEM_PROMPT}, {"role": "user", "content": user}]


def pairwise_scorer(judge: Judge) -> Scorer:
    """Two judged games per prompt against the baseline; the value is the win rate."""
    from inspect_ai.scorer import Score, Target, accuracy, scorer, stderr
    from inspect_ai.solver import TaskState

    @scorer(metrics=[accuracy(), stderr()])
    def arena_pairwise() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            question, baseline = state.input_text, target.text
            candidate = clean_answer(state.output.completion)
            first = await judge.ask(_judge_messages(question, baseline, candidate), parse_verdict)
            second = await judge.ask(_judge_messages(question, candidate, baseline), parse_verdict)
            games = [game_result(first, candidate_is_a=False), game_result(second, True)]
            return Score(
                value=prompt_score(games),
                answer=candidate,
                metadata={"verdicts": [first, second], "candidate_positions": ["B", "A"]},
            )

        return score

    return arena_pairwise()


class ArenaHardWriting(JudgedBenchmark):
    """Arena-Hard v2.0 creative writing, judged pairwise against Qwen3-1.7B's answers."""

    id = "arenahardwriting"
    title = "Arena-Hard v2.0 creative writing"
    default_limit = 32
    generation = GenerationSettings(
        max_tokens=16384, temperature=0.0, fallback_max_tokens=(12288, 8192)
    )
    data_sources = (QUESTIONS, BASELINE_ANSWERS)

    @override
    def test_items(self) -> list[TestItem]:
        """Prompts with the baseline's answers (the texts the audit looks for)."""
        return [TestItem(i.uid, i.prompt, i.baseline) for i in load_items()]

    @override
    def memorization_twins(self, seed: int) -> list[TwinPair]:
        """Prompt and reference lightly rewritten (numbers, a few words)."""
        from posttrainbench.benchmarks._twins import rewritten_twins

        return rewritten_twins(self.test_items(), seed)

    @override
    def judged_task(self, judge: Judge, limit: int | None = None) -> Task:
        """Generate an answer per prompt, then judge it against the baseline twice."""
        from inspect_ai.dataset import Sample
        from inspect_ai.solver import generate

        items = load_items()[:limit]
        samples = [Sample(input=i.prompt, target=i.baseline, id=i.uid) for i in items]
        return self._build_task(samples, generate(), pairwise_scorer(judge))
