"""Code that reaches for the test split, read from the syntax tree rather than its spelling.

Python sources are parsed; every name, attribute and string the code can build without
running (constants joined with ``+``, f-strings of constants, ``"".join``, ``[::-1]``,
``.lower()``/``.upper()``, ``bytes.fromhex``, base64 of a constant) is compared with the
identifiers that expose held-out data in the harness (``test_split``, ``test_items``,
``iter_test_texts``, ...). So ``getattr(b, "test_" + "items")``,
``importlib`` with a built name, or a private helper of the test split are seen
like a plain call. A dataset load whose arguments name the benchmark together with a
``"test"`` split is reported too. These are *code* findings: what the agent wrote, not
what ran, so the detector reports them as warnings unless something corroborates them.
"""

from __future__ import annotations

import ast
import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["CodeHit", "code_hits"]

SENSITIVE = frozenset({"test_split", "test_items", "_test_items", "iter_test_texts", "test_seed"})
"""Identifiers of the harness that expose the test split (compared case-insensitively)."""
_LOADERS = frozenset({"load_dataset", "load_from_hub", "snapshot_download", "hf_hub_download"})
_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class CodeHit:
    """One place in a source that reaches for held-out data."""

    line: int
    what: str
    """``harness-test-api`` or ``test-split-load``."""
    text: str
    """The source line."""


def code_hits(source: str, benchmark_key: str) -> list[CodeHit]:
    """Places in Python ``source`` that reach for the test split of ``benchmark_key``.

    ``benchmark_key`` is the benchmark id with only letters and digits (``gsm8k``).
    Unparsable sources give no hits (the content scan still reads their text).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    lines = source.splitlines()
    hits: dict[tuple[int, str], CodeHit] = {}
    for _node, line in _sensitive_nodes(tree):
        hits.setdefault((line, "harness-test-api"), _hit(lines, line, "harness-test-api"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _loads_test_split(node, benchmark_key):
            line = node.lineno
            hits.setdefault((line, "test-split-load"), _hit(lines, line, "test-split-load"))
    return sorted(hits.values(), key=lambda hit: hit.line)


def _hit(lines: list[str], line: int, what: str) -> CodeHit:
    text = lines[line - 1].strip()[:300] if 0 < line <= len(lines) else ""
    return CodeHit(line, what, text)


def _sensitive_nodes(tree: ast.AST) -> Iterator[tuple[ast.AST, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue  # defining a function of that name is not reaching the harness's
        names: list[str] = []
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
        elif isinstance(node, ast.alias):
            names.append(node.name.rsplit(".", 1)[-1])
        elif isinstance(node, ast.expr) and not isinstance(node, ast.Constant | ast.JoinedStr):
            folded = fold(node)
            if folded is not None:
                names.append(folded)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.append(node.value)
        if any(_normal(name) in SENSITIVE for name in names):
            yield node, getattr(node, "lineno", 0)


def _normal(name: str) -> str:
    return name.strip().lower()


def fold(node: ast.AST) -> str | None:
    """The string ``node`` evaluates to without running anything, when that is known."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return node.value
        return node.value.decode("latin-1") if isinstance(node.value, bytes) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = fold(node.left), fold(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [fold(value) for value in node.values]
        return "".join(p for p in parts if p is not None) if None not in parts else None
    if isinstance(node, ast.FormattedValue):
        return fold(node.value)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        inner, step = fold(node.value), node.slice.step
        if inner is not None and isinstance(step, ast.UnaryOp) and fold_int(step) == -1:
            return inner[::-1]
    if isinstance(node, ast.Call):
        return _fold_call(node)
    return None


def fold_int(node: ast.AST) -> int | None:
    """The integer ``node`` evaluates to (constants and unary minus only)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = fold_int(node.operand)
        return -inner if inner is not None else None
    return None


def _fold_call(node: ast.Call) -> str | None:
    func = node.func
    if not isinstance(func, ast.Attribute):
        return None
    owner = fold(func.value)
    if func.attr == "join" and owner is not None and len(node.args) == 1:
        arg = node.args[0]
        if isinstance(arg, ast.List | ast.Tuple):
            parts = [fold(element) for element in arg.elts]
            return owner.join(p for p in parts if p is not None) if None not in parts else None
        return None
    if func.attr in ("lower", "upper", "strip") and owner is not None and not node.args:
        return str(getattr(owner, func.attr)())
    if func.attr == "decode" and owner is not None:
        return owner
    argument = fold(node.args[0]) if node.args else None
    if argument is None:
        return None
    try:
        if func.attr == "fromhex":
            return bytes.fromhex(argument).decode("utf-8", "replace")
        if func.attr in ("b64decode", "urlsafe_b64decode"):
            return base64.b64decode(argument + "=" * (-len(argument) % 4)).decode(
                "utf-8", "replace"
            )
    except (ValueError, binascii.Error):
        return None
    return None


def _loads_test_split(node: ast.Call, benchmark_key: str) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name not in _LOADERS or not benchmark_key:
        return False
    strings = [fold(argument) for argument in node.args]
    strings += [fold(keyword.value) for keyword in node.keywords]
    names_benchmark = any(
        s is not None and benchmark_key in _ALNUM.sub("", s.lower()) for s in strings
    )
    wants_test = any(
        keyword.arg == "split" and (fold(keyword.value) or "").lower().startswith("test")
        for keyword in node.keywords
    ) or any(s is not None and re.search(r"(^|[/_.\-])test([/_.\-]|$)", s) for s in strings)
    return names_benchmark and wants_test
