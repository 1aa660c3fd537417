r"""Reading a final numeric answer out of a free-form completion (GSM8K, AIME).

The prompts ask for a last line ``ANSWER: <number>``; models also write ``\boxed{..}`` or
just end on the number, and base models often keep going after their answer (a new
few-shot "question" of their own). The rules, in order:

1. the first ``ANSWER:`` line holding a number (what follows is the model talking to
   itself);
2. else the last ``\boxed{...}``;
3. else the last number in the text.

Numbers are normalised: ``$1,234.00`` -> ``1234``; ``12.50`` -> ``12.5``.

:func:`answer_scorer` builds the exact-answer scorers of GSM8K, AIME and arith from an
extraction rule and a comparison.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspect_ai.scorer import Scorer

__all__ = ["answer_scorer", "extract_answer", "last_boxed", "normalise_number", "numbers_match"]

_ANSWER_LINE = re.compile(r"ANSWER\s*:\s*(.+)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\$?\s*\d[\d,]*(?:\.\d+)?|-?\.\d+")


def last_boxed(text: str) -> str | None:
    r"""The content of the last ``\boxed{...}`` (nested braces allowed), if any."""
    start = text.rfind("\\boxed")
    while start != -1:
        brace = text.find("{", start)
        if brace != -1 and text[start + len("\\boxed") : brace].strip() == "":
            depth = 0
            for index in range(brace, len(text)):
                if text[index] == "{":
                    depth += 1
                elif text[index] == "}":
                    depth -= 1
                    if depth == 0:
                        return text[brace + 1 : index].strip()
        start = text.rfind("\\boxed", 0, start)
    return None


def normalise_number(text: str) -> str | None:
    """The first number in ``text`` in canonical form (``"$1,234.00"`` -> ``"1234"``)."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    raw = match.group(0).replace("$", "").replace(",", "").replace(" ", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def extract_answer(completion: str) -> str | None:
    """The answer the completion commits to, as the raw text that holds it."""
    for line in _ANSWER_LINE.finditer(completion):
        answer = line.group(1).strip()
        boxed = last_boxed(answer)
        # Skip an echo of the instruction ("ANSWER: $ANSWER"): no number, no answer.
        if boxed is not None or _NUMBER.search(answer):
            return boxed if boxed is not None else answer
    boxed = last_boxed(completion)
    if boxed is not None:
        return boxed
    numbers = _NUMBER.findall(completion)
    return numbers[-1] if numbers else None


def numbers_match(answer: str | None, target: str) -> bool:
    """True when ``answer`` holds the same number as ``target``."""
    if answer is None:
        return False
    got, want = normalise_number(answer), normalise_number(target)
    return got is not None and got == want


def answer_scorer(
    name: str,
    extract: Callable[[str], str | None],
    matches: Callable[[str | None, str], bool],
) -> Scorer:
    """A scorer (accuracy, stderr) of the answer a completion commits to.

    Args:
        name: The scorer's registry name (it appears in logs).
        extract: The answer in a completion (None: it commits to none).
        matches: Whether an extracted answer equals the target text.
    """
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer, stderr
    from inspect_ai.solver import TaskState

    @scorer(metrics=[accuracy(), stderr()], name=name)
    def answer_match() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            completion = state.output.completion
            answer = extract(completion)
            return Score(
                value=CORRECT if matches(answer, target.text) else INCORRECT,
                answer=answer,
                explanation=completion,
            )

        return score

    return answer_match()
