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


BFCL_FUNCTION = {
    "name": "calc_binomial_probability",
    "description": "Binomial probability.",
    "parameters": {
        "type": "dict",
        "properties": {
            "n": {"type": "integer", "description": "trials"},
            "k": {"type": "integer", "description": "successes"},
            "p": {"type": "float", "description": "probability"},
            "label": {"type": "string", "description": "a label", "default": "none"},
            "weights": {"type": "array", "items": {"type": "float"}, "description": "w"},
        },
        "required": ["n", "k", "p"],
    },
}
BFCL_TRUTHS = (
    "calc_binomial_probability(n=20, k=5, p=0.6)",
    "calc_binomial_probability(n=20, k=5, p=1.0, label='x')",
    "calc_binomial_probability(n=3, k=1, p=0.5, weights=[1.0, 2.5])",
)
_NAMES = ("calc_binomial_probability", "calc_binomial_probabilit", "Calc_Binomial_Probability")
_ARGUMENTS: tuple[dict[str, object], ...] = (
    {"n": 20, "k": 5, "p": 0.6},
    {"n": 20.0, "k": 5, "p": 0.6},
    {"n": "20", "k": 5, "p": 0.6},
    {"n": 20, "k": 5, "p": 1},
    {"n": 20, "k": 5, "p": 1.0},
    {"n": 20, "k": 5},
    {"n": 20, "k": 5, "p": 0.6, "label": "none"},
    {"n": 20, "k": 5, "p": 0.6, "label": "other"},
    {"n": 20, "k": 5, "p": 0.6, "extra": True},
    {"n": 20, "k": 5, "p": 1.0, "label": "x"},
    {"n": 20, "k": 5, "p": 1.0, "label": "X"},
    {"n": 3, "k": 1, "p": 0.5, "weights": [1.0, 2.5]},
    {"n": 3, "k": 1, "p": 0.5, "weights": [1, 2.5]},
    {"n": 3, "k": 1, "p": 0.5, "weights": [2.5, 1.0]},
    {"n": 3, "k": 1, "p": 0.5},
    {},
)


def bfcl_replies() -> list[list[list[tuple[str, dict[str, object]]]]]:
    """Replies as assistant messages, each a list of ``(name, arguments)`` tool calls."""
    single = [[[(name, dict(args))]] for name in _NAMES for args in _ARGUMENTS]
    doubled = [
        [[(name, dict(args)), (name, dict(args))]] for name in _NAMES[:1] for args in _ARGUMENTS
    ]
    split = [[[(_NAMES[0], dict(args))], [(_NAMES[0], dict(args))]] for args in _ARGUMENTS]
    return [*single, *doubled, *split, [[]], [], [[]] * 2]


_GPQA_FORMS = (
    "ANSWER: {r}",
    "ANSWER: {w}",
    "answer: {rl}",
    "ANSWER: ({r})",
    "**ANSWER: {r}**",
    "ANSWER: **{r}**",
    "ANSWER: ${r}$",
    "The answer is {r}",
    "ANSWER: {r}, {w}",
    "ANSWER: {r}{w}",
    "ANSWER: {r},",
    "ANSWER: {r}.",
    "ANSWER:{r}",
    "ANSWER: {r}\nANSWER: {w}",
    "ANSWER: {w}\nANSWER: {r}",
    "<think>ANSWER: {w}</think>\nANSWER: {r}",
    "Reasoning... so ANSWER: {r} because",
    "ANSWER: {r} and {w}",
    "ANSWER: E",
    "ANSWER: {r}\n\nThe next question: ANSWER: {w}",
    "",
    "ANSWER: {r} is cut off mid",
)


def gpqa_replies(right: str, wrong: str) -> list[str]:
    """About 22 replies around the right letter ``right``."""
    values = {"r": right, "w": wrong, "rl": right.lower()}
    return [form.format(**values) for form in _GPQA_FORMS]


def _indent(body: str) -> str:
    return "".join(f"    {line}\n" if line.strip() else "\n" for line in body.splitlines())


def humaneval_completions(prompt: str, solution: str) -> list[str]:
    """20 completions of one problem: formats (fences, signatures, think blocks) and faults."""
    signature = prompt[prompt.rindex("def ") :].split("\n")[0]
    lines = solution.splitlines()
    cut = "\n".join(lines[: max(1, len(lines) // 2)])
    return [
        solution,
        f"```python\n{signature}\n{solution}```",
        f"```\n{signature}\n{solution}```",
        f"```py\n{signature}\n{solution}```",
        f"```Python \r\n{signature}\r\n{solution.replace(chr(10), chr(13) + chr(10))}```",
        f"Here you go:\n```python\n{signature}\n{solution}```\nDone.",
        f"<think>try it</think>\n```python\n{signature}\n{solution}```",
        "    return None\n",
        "    pass\n",
        f"```python\n{signature}\n    return None\n```",
        cut,
        solution + "\n    x = (\n",
        "    raise ValueError('no')\n",
        "    print('hello')\n" + solution,
        "    import math\n" + solution,
        "    return 1/0\n",
        "```python\nprint('no function here')\n```",
        "",
        _indent("def helper():\n    return None") + solution,
        "I cannot solve this.",
    ]


_VERDICTS = ("A>>B", "A>B", "A=B", "B>A", "B>>A", "B=A", "A<B", "B<<A", "AB", "A>>>B", "")
_VERDICT_FRAMES = (
    "My final verdict is: [[{v}]]",
    "Reasoning...\n\nMy final verdict is tie: [[{v}]].",
    "[[A>B]] at first, but on reflection [[{v}]]",
    "[[{v}]] ... then I say [B>A]",
    "Verdict: [{v}]",
    "verdict [[{lv}]]",
    "Final: [[ {v} ]]",
    "No label here, {v}",
    "[[{v}]]\n",
    "**[[{v}]]**",
    "[[{v}]] [[A=B]]",
    "```\n[[{v}]]\n```",
    "Both fine. [{v}] and also [[{v}]]",
    "[[{v}]",
    "{v}",
    "",
    "[[A>B]]\nWait, no: [{v}]",
    'Assistant B is slightly better: [[{v}]]\n\nExample output: "[[A=B]]"',
    "<think>[[A>>B]]</think> [[{v}]]",
)


def judge_replies() -> list[str]:
    """Judge outputs as recorded from Arena-Hard-style judges, and malformed ones."""
    return [
        frame.format(v=verdict, lv=verdict.lower())
        for frame in _VERDICT_FRAMES
        for verdict in _VERDICTS
    ]


_GRADE_BODIES = (
    '{{"explanation": "ok", "criteria_met": {v}}}',
    '{{"criteria_met": {v}, "explanation": "fine"}}',
    '{{"explanation": "x", "criteria_met": "{v}"}}',
    '{{"explanation": "x"}}',
    '[{{"criteria_met": {v}}}]',
    '["criteria_met"]',
    '{{"explanation": "x", "criteria_met": {v}, }}',
    '{{"criteria_met": 1}}',
    '{{"criteria_met": null}}',
    "criteria_met: {v}",
)
_GRADE_WRAPS = (
    "{b}",
    "```json\n{b}\n```",
    "```json{b}```",
    "```\n{b}\n```",
    "  \n{b}\n  ",
    "Here is my grade:\n{b}",
    "{b}\nThat is all.",
    "```json\n{b}\n```\n",
    "```JSON\n{b}\n```",
    "<think>hmm</think>{b}",
    "```json\n\n{b}```",
)


def grader_replies() -> list[str]:
    """Grader replies (HealthBench rubric items), well-formed and not."""
    return [
        wrap.format(b=body.format(v=value))
        for wrap in _GRADE_WRAPS
        for body in _GRADE_BODIES
        for value in ("true", "false")
    ]
