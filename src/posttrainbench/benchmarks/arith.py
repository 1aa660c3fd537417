"""Arith: a synthetic toy benchmark of one-step addition and subtraction word problems.

The questions come from templates (a name, an object, a verb and two small numbers), so
the benchmark needs no download and runs anywhere. It exists for demos and CI: a tiny
model trained for a minute on a CPU can learn it, which makes the whole post-training
loop observable end to end. Its numbers mean nothing outside the harness.

The test split is data, not code: 200 items drawn once from the generator and shipped
as ``test_splits/arith.jsonl`` (``TEST_SPLIT``), with no seed in the package that could
draw them again. Like every benchmark's test data, the agent reads it only through the
trial's watched copy (``trial.agent_data``; the package's file is masked in the sandbox).
The allowed training data is any number of generator draws (``train_split``); they skip
every question a small Bloom filter of the test questions admits (about 2.4 % of all
questions, the 200 test questions among them), so training data never repeats a test
question and the filter does not tell which of its 2,273 candidates are the test ones.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from posttrainbench.benchmarks._answers import answer_scorer
from posttrainbench.benchmarks.base import (
    AllowedExample,
    Benchmark,
    GenerationSettings,
    TestItem,
    TwinPair,
)
from posttrainbench.benchmarks.data import HarnessData

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.scorer import Scorer

__all__ = [
    "TEST_SIZE",
    "TEST_SPLIT",
    "TRAIN_SEED",
    "Arith",
    "ArithMini",
    "answer_text",
    "extract_last_integer",
    "last_integer",
    "test_split",
    "train_split",
    "training_messages",
]

TEST_SPLIT = HarnessData(
    distribution="posttrainbench",
    module="posttrainbench.benchmarks",
    resource="test_splits/arith.jsonl",
)
"""The fixed test split, one ``{"id", "question", "answer"}`` object per line."""
TEST_SIZE = 200
"""Number of test items."""
TRAIN_SEED = 7
"""Default seed of the training split (any seed is allowed)."""
_FILTER_BITS = 1600
_FILTER_HASHES = 4
_TEST_FILTER = bytes.fromhex(
    "d74359eb23f24ed12751483ead28288a4b5002516010567c42051888888bbd048c51198013ea995d"
    "21e8601c3a008409203231b22c04048418112bc0d2cb3955c00a52746c0bc20860c09aa4355009d9"
    "00a42bcbe892f3a67804d6848e8411324c36a3620482d4018e87ac543894e16929660012200942996"
    "341485991a185e8224102c40a4aa84596a23341c7afd406d8c04152c5168565c24f9fc1d26045f469"
    "722028d0dc0281d0b3ebb1a1134086522a2121e8e807b7dab1cc22082b01d956014004660282ab"
)
"""Bloom filter of the test questions (bits of SHA-256 slices, see ``_maybe_test``)."""
MAX_OPERAND = 9
"""Largest number added or taken away; sums stay below 2 * MAX_OPERAND + 1."""

_NAMES = (
    ("Mia", "She"),
    ("Leo", "He"),
    ("Ava", "She"),
    ("Sam", "He"),
    ("Zoe", "She"),
    ("Max", "He"),
    ("Emma", "She"),
    ("Noah", "He"),
    ("Lily", "She"),
    ("Omar", "He"),
    ("Nina", "She"),
    ("Ben", "He"),
)
_OBJECTS = (
    "pencils",
    "apples",
    "stickers",
    "marbles",
    "books",
    "coins",
    "cards",
    "shells",
    "cookies",
    "stamps",
    "balloons",
    "candies",
)
_GAIN_VERBS = ("gets {n} more", "finds {n} more", "buys {n} more", "is given {n} more")
_LOSS_VERBS = ("gives away {n}", "loses {n}", "sells {n}", "eats {n}")
_INTEGER = re.compile(r"-?\d+")


def _question(rng: random.Random) -> tuple[str, int]:
    """One random word problem and its answer."""
    name, pronoun = rng.choice(_NAMES)
    things = rng.choice(_OBJECTS)
    x, y = rng.randint(1, MAX_OPERAND), rng.randint(1, MAX_OPERAND)
    if rng.random() < 0.5:
        start, change, verb, answer = x, y, rng.choice(_GAIN_VERBS), x + y
    else:
        # Taking y away from x + y keeps every result non-negative and the operands small.
        start, change, verb, answer = x + y, y, rng.choice(_LOSS_VERBS), x
    question = (
        f"{name} has {start} {things}. {pronoun} {verb.format(n=change)}. "
        f"How many {things} does {name} have now?"
    )
    return question, answer


def _draw(n: int, seed: int, prefix: str, skip: Callable[[str], bool]) -> list[TestItem]:
    """``n`` distinct items from ``seed``, leaving out the questions ``skip`` admits."""
    rng = random.Random(seed)
    items: list[TestItem] = []
    seen: set[str] = set()
    while len(items) < n:
        question, answer = _question(rng)
        if question in seen or skip(question):
            continue
        seen.add(question)
        items.append(
            TestItem(id=f"{prefix}-{len(items):05d}", question=question, answer=str(answer))
        )
    return items


def test_split() -> list[TestItem]:
    """The fixed held-out test split (``TEST_SIZE`` items, always the same).

    Raises the ``posttrainbench.test_split`` audit event: the trial records who asked.
    """
    sys.audit("posttrainbench.test_split", "arith")
    with TEST_SPLIT.path().open(encoding="utf-8") as lines:
        return [TestItem(**json.loads(line)) for line in lines if line.strip()]


def _maybe_test(question: str) -> bool:
    """Whether the Bloom filter admits ``question`` (every test question, ~2.4 % of all)."""
    digest = hashlib.sha256(question.encode()).digest()
    for i in range(_FILTER_HASHES):
        bit = int.from_bytes(digest[4 * i : 4 * i + 4], "big") % _FILTER_BITS
        if not _TEST_FILTER[bit // 8] >> (bit % 8) & 1:
            return False
    return True


def train_split(n: int, seed: int = TRAIN_SEED) -> list[TestItem]:
    """``n`` training items drawn with ``seed``; no question of the test split appears.

    Args:
        n: Number of items.
        seed: Generator seed; the same seed always gives the same items.

    Returns:
        Distinct items, none equal to a test question (nor to any other question the
        test filter admits).
    """
    return _draw(n, seed, f"arith-train{seed}", _maybe_test)


def answer_text(answer: str) -> str:
    """The assistant reply the training data teaches for ``answer``."""
    return f"The answer is {answer}."


def training_messages(items: list[TestItem]) -> list[dict[str, Any]]:
    """Items as conversational prompt-completion records, the form TRL's SFTTrainer takes.

    Args:
        items: Training items (from ``train_split``).

    Returns:
        One ``{"prompt": [user message], "completion": [assistant message]}`` per item.
    """
    return [
        {
            "prompt": [{"role": "user", "content": item.question}],
            "completion": [{"role": "assistant", "content": answer_text(item.answer)}],
        }
        for item in items
    ]


def extract_last_integer(text: str) -> str | None:
    """The last integer written in ``text`` (normalised, e.g. ``"007"`` -> ``"7"``), if any."""
    matches = _INTEGER.findall(text)
    return str(int(matches[-1])) if matches else None


def _same_last_integer(answer: str | None, target: str) -> bool:
    return answer is not None and answer == extract_last_integer(target)


def last_integer() -> Scorer:
    """A scorer: correct when the completion's last integer equals the target."""
    return answer_scorer("last_integer_match", extract_last_integer, _same_last_integer)


def _twin(item: TestItem, rng: random.Random, taken: frozenset[str]) -> TestItem:
    """``item`` with fresh numbers drawn from the generator and the answer recomputed.

    Name, object and verb stay; the twin is never a test question (``taken``).
    """
    first, second = list(_INTEGER.finditer(item.question))[:2]
    gains = " more." in item.question
    while True:
        x, y = rng.randint(1, MAX_OPERAND), rng.randint(1, MAX_OPERAND)
        new_start, answer = (x, x + y) if gains else (x + y, x)
        question = (
            item.question[: first.start()]
            + str(new_start)
            + item.question[first.end() : second.start()]
            + str(y)
            + item.question[second.end() :]
        )
        if question not in taken:
            return TestItem(item.id, question, answer_text(str(answer)))


def memorization_twins(items: list[TestItem], seed: int) -> list[TwinPair]:
    """Each item (answered as training data teaches) with a fresh generator draw as twin.

    The twin keeps the item's template (name, object, verb) and draws new numbers, so it
    is both a perturbed twin and a fresh draw; its answer is recomputed.
    """
    from posttrainbench.benchmarks._twins import item_rng

    taken = frozenset(item.question for item in test_split())
    return [
        TwinPair(
            verbatim=TestItem(item.id, item.question, answer_text(item.answer)),
            twin=_twin(item, item_rng(seed, item.id), taken),
            answer_recomputed=True,
        )
        for item in items
    ]


class Arith(Benchmark):
    """Toy arithmetic word problems (add or subtract two numbers up to 9)."""

    id = "arith"
    title = "Arith (toy arithmetic word problems)"
    toy = True
    default_limit = 50
    generation = GenerationSettings(max_tokens=16, temperature=0.0, fallback_max_tokens=(8,))
    allowed_training_data = (
        "Any number of synthetic arith problems from "
        "posttrainbench.benchmarks.arith.train_split(n, seed), with any seed; they never "
        "repeat a test question."
    )
    data_sources = (TEST_SPLIT,)

    @override
    def test_items(self) -> list[TestItem]:
        """The fixed test split."""
        return test_split()

    def train_items(self, n: int, seed: int = TRAIN_SEED) -> list[TestItem]:
        """``n`` items of allowed training data (see ``train_split``)."""
        return train_split(n, seed)

    has_allowed_examples = True

    @override
    def allowed_examples(self, count: int, seed: int) -> list[AllowedExample]:
        """Fresh draws of the generator (never a test question), answered as trained."""
        items = self.train_items(count, seed=seed)
        return [AllowedExample(item.question, answer_text(item.answer)) for item in items]

    @override
    def memorization_twins(self, seed: int) -> list[TwinPair]:
        """Fresh generator draws in each item's template, answers recomputed."""
        return memorization_twins(self.test_items(), seed)

    @override
    def task(self, limit: int | None = None) -> Task:
        """Greedy generation over the test items, scored on the last integer written."""
        from inspect_ai.solver import generate

        return self._build_task(self._question_samples(limit), generate(), last_integer())


class ArithMini(Arith):
    """The first 24 items of arith's test split: a smoke test of a setup in seconds."""

    id = "arith-mini"
    title = "Arith mini (24-item smoke test of the toy benchmark)"
    default_limit = 24

    @override
    def test_items(self) -> list[TestItem]:
        """The first 24 test items of arith."""
        return test_split()[:24]
