"""Transcriptions of the upstream scorers, kept as oracles for the differential tests.

Each function follows the upstream source line by line (PostTrainBench's
``src/eval/exact_numeric_match.py`` and the final-evaluation scorers, inspect_evals'
``aime_scorer``), calling the same inspect-ai helpers upstream calls. They are test code:
the project's scorers must agree with them on every generated completion.
"""

from __future__ import annotations

import re
from typing import Any


def upstream_gsm8k(completion: str, target: str) -> bool:
    """``signed_last_number_exact(completion, target)[1]`` as upstream wrote it."""
    from inspect_ai._util.text import str_to_float, strip_numeric_punctuation
    from inspect_ai.scorer._unicode import unicode_number_to_float

    def parse_number(word: str) -> float:
        sign = -1.0 if word.startswith("-") else 1.0
        digits = word[1:] if word.startswith("-") else word
        try:
            return sign * str_to_float(digits)
        except ValueError:
            return sign * unicode_number_to_float(digits)

    t = strip_numeric_punctuation(target.strip())
    assert re.fullmatch(r"-?\d+(\.\d+)?", t)
    words = re.split(r"\s+", strip_numeric_punctuation(completion.strip().casefold()))
    words.reverse()
    for word in words:
        if (word[1:] if word.startswith("-") else word).replace(".", "").isnumeric():
            try:
                value = parse_number(word)
            except (ValueError, OverflowError):
                return False
            return abs(value - float(t)) < 1e-9
    return False


def upstream_aime(completion: str, target: str) -> bool:
    """inspect_evals' ``aime_scorer`` verdict (last substantive line, unboxed, match_str)."""
    from inspect_ai.scorer._common import match_str
    from inspect_evals.utils.aime_common import _find_last_substantive_line, remove_boxed_from_ans

    if not completion.strip().splitlines():
        return False
    cleaned = remove_boxed_from_ans(_find_last_substantive_line(completion))
    return match_str(value=cleaned, target=target, location="end", numeric=True)[1]


def upstream_bfcl(messages: list[Any], ground_truth: str, functions: list[dict[str, Any]]) -> bool:
    """``inspect_evals.bfcl()``'s scorer on an ``exec_simple`` sample (its entry point)."""
    from inspect_ai.model import ModelName
    from inspect_ai.scorer import Target
    from inspect_ai.solver import TaskState
    from inspect_evals.bfcl.score.scorer import ast_match
    from inspect_evals.bfcl.utils.function_parsing import parse_exec_ground_truth
    from inspect_evals.bfcl.utils.task_categories import CATEGORIES

    state = TaskState(
        model=ModelName("mockllm/model"),
        sample_id="s",
        epoch=1,
        input="q",
        messages=messages,
        metadata={
            "tools": functions,
            "parsed_ground_truth": parse_exec_ground_truth(ground_truth),
            "category_name": "exec_simple",
        },
    )
    return ast_match(state, Target(ground_truth), CATEGORIES["exec_simple"]).value == 1


def upstream_gpqa(completion: str, target: str, choices: int = 4) -> bool:
    """inspect's ``multiple_choice`` answer parsing and ``choice()`` verdict, one answer."""
    text = re.sub(r"\x24\s*([A-Za-z\d][A-Za-z\d ,]*?)\s*\x24", r"\1", completion)
    text = re.sub(r"\*\*\s*([A-Za-z\d][A-Za-z\d ,]*?)\s*\*\*", r"\1", text)
    text = re.sub(r"(?i)(^|[:,])(\s*)\(([A-Za-z\d])\)(?=\s*(?:,|\.|\n|\Z))", r"\1\2\3", text)
    found = re.findall(r"(?i)^ANSWER\s*:\s*([A-Za-z\d ,]+)\s*(?:$|\n|\.)", text, re.MULTILINE)
    if not found:
        found = re.findall(r"(?i)ANSWER\s*:\s*([A-Za-z\d ,]+)(?:[^\w]|\n|$|\.)", text)
    if not found:
        return False
    matched = found[-1].strip().rstrip(".").upper()
    tokens = [token for token in matched.split(",") if token]
    allowed = {chr(ord("A") + index) for index in range(choices)}
    return len(tokens) == 1 and tokens[0] in allowed and tokens[0] == target


def upstream_humaneval(completion: str, prompt: str, test: str, entry_point: str) -> bool:
    """Upstream's final-eval ``verify()``: find_code, one program, a token printed after check.

    Run without isolation: only for the test corpus's own (honest) completions.
    """
    import secrets
    import subprocess
    import sys

    from inspect_evals.humaneval.humaneval import find_code

    token = secrets.token_hex(16)
    answer = find_code(completion)
    code = "".join([prompt, answer, "\n", test, "\n", f"check({entry_point})", "\n"])
    code += f"print({token!r})\n"
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and token in result.stdout


ARENA_PATTERNS = (r"\[\[([AB<>=]+)\]\]", r"\[([AB<>=]+)\]")
ARENA_SCORE_MAP = {"A>B", "A>>B", "A=B", "A<<B", "A<B", "B>A", "B>>A", "B=A", "B<<A", "B<A"}
ARENA_TEMPLATE = (
    "<|User Prompt|>\n{QUESTION}\n\n<|The Start of Assistant A's Answer|>\n{ANSWER_A}\n"
    "<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\n{ANSWER_B}\n"
    "<|The End of Assistant B's Answer|>"
)


def upstream_arena_label(judgment: str) -> str | None:
    """Upstream arena ``get_score`` with its two regex patterns."""
    for pattern in ARENA_PATTERNS:
        matches = [m for m in re.compile(pattern).findall(judgment.upper()) if m]
        if matches:
            return str(matches[-1]).strip("\n")
    return None


def upstream_arena_messages(system: str, question: str, a: str, b: str) -> list[dict[str, str]]:
    """Upstream's judge messages for one game."""
    user = ARENA_TEMPLATE.format(QUESTION=question, ANSWER_A=a, ANSWER_B=b)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def upstream_healthbench_prompt(
    template: str, conversation: list[dict[str, str]], response: str, text: str, points: int
) -> str:
    """Upstream ``grade_criterion``'s prompt."""
    turns = [*conversation, {"role": "assistant", "content": response}]
    rendered = "\n\n".join(f"{turn['role']}: {turn['content']}" for turn in turns)
    return template.replace("<<conversation>>", rendered).replace(
        "<<rubric_item>>", f"[{points}] {text}"
    )


def upstream_healthbench_grade(reply: str) -> bool | None:
    """Upstream's reading of one grader reply: the verdict, or None (asked again)."""
    import json

    cleaned = re.sub(r"^```json\s*|\s*```$", "", reply.strip())
    try:
        data = json.loads(cleaned)
    except json.JSONDecodeError:
        data = {}
    try:
        if "criteria_met" in data:
            label = data["criteria_met"]
            if label is True or label is False:
                return bool(label)
    except TypeError:
        return None
    return None
