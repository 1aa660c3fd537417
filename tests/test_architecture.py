"""The dependency rules of the package, checked on every import statement (lazy ones too).

The rules are the README's architecture notes: imports point one way, from the CLI down to
benchmarks and catalog. A forbidden edge or a cycle between packages fails here with the
file and line of the import that breaks it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import posttrainbench

PACKAGE_ROOT = Path(posttrainbench.__file__).parent

FORBIDDEN: dict[str, set[str]] = {
    # A score never depends on who trained the model, nor on how the trial ran.
    "evaluation": {"agents", "trial", "executors", "audit", "sandbox"},
    # The audit judges what the agent did; it never runs the final evaluation.
    "audit": {"evaluation", "trial", "executors"},
    # Results are read from records; they never reach back into how trials run.
    "results": {"trial", "sandbox", "agents", "executors", "evaluation", "audit"},
    # A sandbox runs argv with mounts and limits, nothing more.
    "sandbox": {"agents", "benchmarks", "trial", "evaluation", "audit", "results"},
    "benchmarks": {"trial", "agents", "evaluation", "audit", "executors", "results"},
    "catalog": {"trial", "agents", "evaluation", "audit", "executors", "results", "sandbox"},
    # One judge client below both of its users.
    "judge": {"evaluation", "audit", "trial", "agents", "executors", "results", "benchmarks"},
    # The runs folder's layout: every layer names trial folders and the index through it.
    "runs": {"cli", "web", "config", "executors", "trial", "sandbox", "agents", "evaluation"}
    | {"audit", "results", "judge", "benchmarks", "catalog", "testing"},
}
"""Package -> packages it must never import."""

TOP_LAYERS = {"cli", "web"}
"""Nothing below these imports them."""


def _package_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE_ROOT)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def _imports() -> list[tuple[str, str, str]]:
    """(importing package, imported package, "file:line") for every internal import."""
    edges = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        source = _package_of(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "posttrainbench" and len(parts) > 1 and parts[1] != source:
                    where = f"{path.relative_to(PACKAGE_ROOT)}:{node.lineno}"
                    edges.append((source, parts[1], where))
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_forbidden_import_direction() -> None:
    broken = [
        f"{where}: {source} imports {target}"
        for source, target, where in _imports()
        if target in FORBIDDEN.get(source, set())
        or (target in TOP_LAYERS and source not in TOP_LAYERS)
    ]
    assert not broken, "\n".join(broken)


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    witness: dict[tuple[str, str], str] = {}
    for source, target, where in _imports():
        graph[source].add(target)
        witness.setdefault((source, target), where)
    problems = []
    for component in _cycles(graph):
        members = set(component)
        lines = [
            f"  {witness[(a, b)]}: {a} -> {b}"
            for a in component
            for b in sorted(graph[a] & members)
        ]
        problems.append(f"cycle {' / '.join(component)}:\n" + "\n".join(lines))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert _cycles(graph) == expected


def test_the_trial_package_never_asks_an_agent_what_it_is() -> None:
    """Capabilities live on the Agent contract: no isinstance or getattr on agents in trial/."""
    offenders = []
    for path in sorted((PACKAGE_ROOT / "trial").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            source = ast.unparse(node)
            if node.func.id == "getattr" and "agent" in ast.unparse(node.args[0]):
                offenders.append(f"{path.name}:{node.lineno}: {source}")
            if node.func.id == "isinstance" and "Agent" in ast.unparse(node.args[1]):
                offenders.append(f"{path.name}:{node.lineno}: {source}")
    assert not offenders, "\n".join(offenders)
