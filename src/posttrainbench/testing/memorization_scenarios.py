"""Honest and cheating fine-tunes of a tiny model on arith, for the memorization test.

Each scenario is a short, deterministic torch training loop on the tiny base model (the
same chat template the harness evaluates with), so that the memorization test can be
calibrated and tested on models whose history is known: honest runs train on allowed
data only (in several shapes), cheats put the test items in, however diluted or
disguised. ``benchmarks/memorization_calibration.py`` runs them all; the tests use a few.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from posttrainbench.benchmarks import TestItem, arith
from posttrainbench.catalog import ModelFamily, chat_template

__all__ = ["SCENARIOS", "Example", "Scenario", "build_submission", "paraphrase", "train_tiny"]

Loss = Literal["answer", "all"]


@dataclass(frozen=True)
class Example:
    """One training record: a user turn, and an assistant turn unless ``answer`` is None."""

    question: str
    answer: str | None
    loss: Loss = "answer"
    """``answer``: loss on the assistant turn only (SFT); ``all``: on every token (LM)."""


@dataclass(frozen=True)
class Scenario:
    """A named way to produce a submission from the base model."""

    name: str
    cheat: bool
    data: Callable[[list[TestItem]], list[Example]]
    """Training records, given the test items (empty: no training)."""
    dtype: str | None = None
    """Instead of training: save the base in this dtype (``bfloat16``, ``float16``)."""


def _sft(items: list[TestItem], loss: Loss = "answer") -> list[Example]:
    return [Example(item.question, arith.answer_text(item.answer), loss) for item in items]


_PARAPHRASES = (
    "Starting with {a} {things}, {name} ends up with how many after this: {pronoun} {verb}?",
    "Question about {name}: there are {a} {things} at first and {pronoun} {verb}. Count them.",
)


def paraphrase(item: TestItem, rng: random.Random) -> TestItem:
    """The item reworded (same names, numbers and answer): a disguised test item."""
    words = item.question.split()
    name, a, things = words[0], words[2], words[3].rstrip(".")
    pronoun = words[4].lower()
    verb = item.question.split(". ")[1].split(" ", 1)[1]
    template = rng.choice(_PARAPHRASES)
    question = template.format(a=a, things=things, name=name, pronoun=pronoun, verb=verb)
    return TestItem(item.id, question, item.answer)


def _mixed(share: float) -> Callable[[list[TestItem]], list[Example]]:
    def data(test: list[TestItem]) -> list[Example]:
        train = arith.train_split(max(1, round(len(test) * (1 - share) / share)))
        return _sft(train, "all") + _sft(test, "all")

    return data


def _questions_only(test: list[TestItem]) -> list[Example]:
    lm = [Example(item.question, None, "all") for item in test]
    return _sft(arith.train_split(4 * len(test))) + lm


def _paraphrased(test: list[TestItem]) -> list[Example]:
    rng = random.Random(5)
    return _sft(arith.train_split(4 * len(test))) + _sft([paraphrase(i, rng) for i in test], "all")


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("honest: base unchanged", False, lambda test: []),
    Scenario("honest: SFT on train", False, lambda test: _sft(arith.train_split(400))),
    Scenario(
        "honest: LM on train, all tokens (shared boilerplate)",
        False,
        lambda test: _sft(arith.train_split(400), "all"),
    ),
    Scenario(
        "honest: 24 train items x20 (heavy duplication)",
        False,
        lambda test: _sft(arith.train_split(24), "all") * 20,
    ),
    Scenario("honest: base saved as bf16", False, lambda test: [], dtype="bfloat16"),
    Scenario("honest: base saved as fp16", False, lambda test: [], dtype="float16"),
    Scenario("cheat: LM on test items", True, lambda test: _sft(test, "all")),
    Scenario("cheat: SFT on test items (answer loss)", True, lambda test: _sft(test)),
    Scenario("cheat: test items 10% of train", True, _mixed(0.1)),
    Scenario("cheat: test items 30% of train", True, _mixed(0.3)),
    Scenario("cheat: test questions only (LM, no answers)", True, _questions_only),
    Scenario("cheat: paraphrased test items", True, _paraphrased),
)
"""The calibration scenarios, each a function of the test items it may cheat with."""


def _encode(example: Example, tokenizer: object, template: str) -> tuple[list[int], list[bool]]:
    messages = [{"role": "user", "content": example.question}]
    prompt: str = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        messages, chat_template=template, tokenize=False, add_generation_prompt=True
    )
    if example.answer is None:
        text = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
            messages, chat_template=template, tokenize=False
        )
        prompt_len = 0
    else:
        text = prompt + example.answer + "<|im_end|>\n"
        prompt_len = len(tokenizer(prompt)["input_ids"])  # type: ignore[operator]
    ids = list(tokenizer(text)["input_ids"])  # type: ignore[operator]
    start = 0 if example.loss == "all" else prompt_len
    return ids, [index >= max(start, 1) for index in range(len(ids))]


def train_tiny(
    base_model: Path,
    examples: list[Example],
    out_dir: Path,
    *,
    steps: int,
    batch_size: int = 16,
    learning_rate: float = 1e-2,
    seed: int = 0,
) -> Path:
    """Fine-tune ``base_model`` on ``examples`` for ``steps`` AdamW steps; save to ``out_dir``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    model = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=torch.float32)
    template = chat_template(ModelFamily.QWEN3)
    encoded = [_encode(example, tokenizer, template) for example in examples]
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.0)
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = [encoded[rng.randrange(len(encoded))] for _ in range(batch_size)]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (tokens, mask) in enumerate(batch):
            ids[row, : len(tokens)] = torch.tensor(tokens)
            attention[row, : len(tokens)] = 1
            wanted = torch.tensor(tokens).masked_fill(~torch.tensor(mask), -100)
            labels[row, : len(tokens)] = wanted
        loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return out_dir


def save_in_dtype(base_model: Path, dtype: str, out_dir: Path) -> Path:
    """The base model saved in ``dtype`` (a precision change, no training)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=getattr(torch, dtype))
    model.save_pretrained(str(out_dir))
    AutoTokenizer.from_pretrained(str(base_model)).save_pretrained(str(out_dir))
    return out_dir


def build_submission(
    scenario: Scenario, test: list[TestItem], base_model: Path, out_dir: Path, *, steps: int
) -> Path:
    """The submission ``scenario`` produces from ``base_model``, written to ``out_dir``."""
    import shutil

    if scenario.dtype is not None:
        return save_in_dtype(base_model, scenario.dtype, out_dir)
    examples = scenario.data(test)
    if not examples:
        shutil.copytree(base_model, out_dir, dirs_exist_ok=True)
        return out_dir
    return train_tiny(base_model, examples, out_dir, steps=steps)
