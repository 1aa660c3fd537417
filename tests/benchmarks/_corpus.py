"""Generated completions for the differential scorer tests (formats, signs, commas, units,
LaTeX, several answers, truncation, think blocks)."""

from __future__ import annotations

import itertools

_NUMBER_FORMS = (
    "{n}",
    "-{n}",
    "{n}.0",
    "{n}.00",
    "${n}",
    "\\${n}",
    "{c}",
    "${c}.00",
    "**{n}**",
    "{n}.",
    "({n})",
    "{n}!",
    "{n}%",
    "{n}kg",
    "{n} dollars",
    "\\boxed{{{n}}}",
    "\\boxed{{\\frac{{{d}}}{{2}}}}",
    "$\\boxed{{{n}}}$",
    "_{n}_",
    "{n}²",
    "½",
    "١٢",
    "1.2.3",
    "-",
    "{n}e0",
    "0{n}",
    "{p}",
    "{m}",
)
_FRAMES = (
    "{x}",
    "ANSWER: {x}",
    "The answer is {x}",
    "Reasoning: 3 + 4 = 7.\nANSWER: {x}",
    "ANSWER: {x}\n\nQuestion: Tom has 5 apples.\nANSWER: 99",
    "<think>maybe 41</think>\nANSWER: {x}",
    "ANSWER: {x}\n$$",
    "ANSWER: {x}\n**",
    "So {x} is it.\n\n---",
    "ANSWER: 1233 + 1 = {x}",
    "ANSWER: {x} apples, not 7",
    "I think {x}, or maybe 12",
    "the total is {x}, then it was cut off mid-sent",
    "",
    "   \n",
)


def numeric_corpus(target: int) -> list[str]:
    """About 400 completions around ``target`` (right, wrong, malformed)."""
    values = {
        "n": str(target),
        "c": f"{target:,}",
        "d": str(2 * target),
        "p": str(target + 1),
        "m": str(target * 10 + target),
    }
    answers = [form.format(**values) for form in _NUMBER_FORMS]
    return [frame.format(x=answer) for frame, answer in itertools.product(_FRAMES, answers)]
