"""Perturbed twins of test items: matched controls for the audit's memorization test.

A twin is a test item changed in the details a memorising model would have learned and
an honest one would not care about: its numbers, the order of its choices, the names of
its identifiers, a few of its words. Every function here is a pure function of its text
and a seeded :class:`random.Random`, so the harness regenerates the same twins at every
audit, and the agent, which never sees the seed, cannot have trained on them.
"""

from __future__ import annotations

import ast
import builtins
import random
import re
from collections.abc import Iterable, MutableMapping, Sequence

from posttrainbench.benchmarks.base import TestItem, TwinPair

__all__ = [
    "change_numbers",
    "item_rng",
    "light_rewrite",
    "perturbed_question",
    "rename_identifiers",
    "rewritten_twins",
]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z]+")
_SYNONYMS = {
    "big": "large",
    "large": "big",
    "small": "little",
    "little": "small",
    "quick": "fast",
    "fast": "quick",
    "begin": "start",
    "start": "begin",
    "buy": "purchase",
    "help": "assist",
    "show": "display",
    "make": "create",
    "create": "make",
    "write": "compose",
    "story": "tale",
    "poem": "verse",
    "about": "regarding",
    "get": "obtain",
    "need": "require",
    "use": "employ",
    "often": "frequently",
    "also": "additionally",
    "very": "really",
    "really": "very",
    "important": "essential",
    "good": "fine",
    "bad": "poor",
    "happy": "glad",
    "sad": "unhappy",
    "doctor": "physician",
    "pain": "discomfort",
    "child": "kid",
    "children": "kids",
    "house": "home",
    "home": "house",
    "friend": "companion",
    "idea": "notion",
    "answer": "reply",
    "question": "query",
    "describe": "portray",
    "explain": "clarify",
    "short": "brief",
    "long": "lengthy",
    "old": "aged",
    "new": "fresh",
}
_PROTECTED = frozenset(dir(builtins)) | frozenset(
    {"self", "cls", "math", "re", "typing", "List", "Tuple", "Dict", "Optional", "Any"}
)


def item_rng(seed: int, item_id: str) -> random.Random:
    """The generator of one item's twin: the same seed and id always give the same twin."""
    return random.Random(f"twin:{seed}:{item_id}")


def _other_number(text: str, rng: random.Random) -> str:
    """A different number written with the same number of digits (decimals kept)."""
    whole, dot, fraction = text.partition(".")
    for _ in range(20):
        low = 10 ** (len(whole) - 1) if len(whole) > 1 else 1
        new_whole = str(rng.randint(low, 10 ** len(whole) - 1))
        new_fraction = "".join(str(rng.randint(0, 9)) for _ in fraction)
        candidate = new_whole + dot + new_fraction
        if candidate != text:
            return candidate
    return str(int(whole) + 1) + dot + fraction


def change_numbers(
    text: str, rng: random.Random, mapping: MutableMapping[str, str] | None = None
) -> str:
    """``text`` with every number replaced by another of the same length, consistently.

    Args:
        text: Any text.
        rng: The item's generator.
        mapping: Replacements already chosen (old -> new); filled in, so a question and
            its answer can share one mapping and stay consistent.
    """
    chosen: MutableMapping[str, str] = {} if mapping is None else mapping

    def replace(match: re.Match[str]) -> str:
        number = match.group(0)
        if number not in chosen:
            chosen[number] = _other_number(number, rng)
        return chosen[number]

    return _NUMBER.sub(replace, text)


def light_rewrite(text: str, rng: random.Random) -> str:
    """A light rewrite: numbers changed, common words swapped for synonyms.

    Most of the text stays as it was (the meaning is kept for a judge-graded prompt); when
    nothing could be swapped, the first two sentences trade places, or a closing word is
    added, so the twin always differs from the original.
    """

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        synonym = _SYNONYMS.get(word.lower())
        if synonym is None or rng.random() < 0.3:
            return word
        return synonym.capitalize() if word[0].isupper() else synonym

    rewritten = _WORD.sub(swap, change_numbers(text, rng))
    if rewritten != text:
        return rewritten
    sentences = re.split(r"(?<=[.!?])\s+", text, maxsplit=2)
    if len(sentences) >= 2 and sentences[0] != sentences[1]:
        return " ".join([sentences[1], sentences[0], *sentences[2:]])
    return f"{text} Thanks."


def perturbed_question(text: str, rng: random.Random) -> str:
    """``text`` with its numbers changed; lightly rewritten when it has no number."""
    changed = change_numbers(text, rng)
    return changed if changed != text else light_rewrite(text, rng)


def rewritten_twins(items: Sequence[TestItem], seed: int) -> list[TwinPair]:
    """Twins of judge-graded items: prompt and reference lightly rewritten."""
    pairs = []
    for item in items:
        rng = item_rng(seed, item.id)
        twin = TestItem(item.id, light_rewrite(item.question, rng), light_rewrite(item.answer, rng))
        pairs.append(TwinPair(item, twin, answer_recomputed=False))
    return pairs


def _defined_names(code: str) -> list[str]:
    """Functions, arguments and variables that ``code`` defines, in order of appearance."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names[node.name] = None
            for argument in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                names[argument.arg] = None
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names[node.id] = None
    return [name for name in names if name not in _PROTECTED]


def _fresh_names(count: int, taken: Iterable[str], rng: random.Random) -> list[str]:
    stems = ("val", "item", "data", "arg", "obj", "res", "tmp", "elem", "num", "key")
    used = set(taken)
    fresh: list[str] = []
    while len(fresh) < count:
        name = f"{rng.choice(stems)}_{rng.randint(10, 999)}"
        if name not in used:
            used.add(name)
            fresh.append(name)
    return fresh


def rename_identifiers(prompt: str, solution: str, rng: random.Random) -> tuple[str, str]:
    """``prompt`` and ``solution`` with their functions, arguments and variables renamed.

    Names are replaced as whole words everywhere, docstring examples included, so the
    twin is the same program under other names.
    """
    names = _defined_names(prompt + solution)
    if not names:
        return change_numbers(prompt, rng), solution
    renames = dict(zip(names, _fresh_names(len(names), names, rng), strict=True))
    # Not before a quote: a one-letter name must not turn an f-string into something else.
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b(?!['\"])")
    return (
        pattern.sub(lambda m: renames[m.group(0)], prompt),
        pattern.sub(lambda m: renames[m.group(0)], solution),
    )
