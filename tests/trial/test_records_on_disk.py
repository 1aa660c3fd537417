"""No untyped dict is written as a trial record: every JSON write goes through a model.

Checked on the source, statement by statement (an AST walk, lazy code included):

1. ``json.dumps``/``json.dump`` appear in ``trial/`` and ``records/`` only where listed in
   :data:`ALLOWED_DUMPS`, each with the reason it is not a trial record.
2. Every ``append_jsonl(path, record)`` in the package passes ``<model>.model_dump(...)``.
3. No file of a trial named in ``TrialPaths`` as a record is written by a text write
   (``atomic_write_text``, ``write_text``): records are written by ``Record.save``.

A dict assembled in one statement and dumped in another would pass rule 2 and 3 only by
going through ``json.dumps``, which rule 1 catches in the trial package.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import posttrainbench

PACKAGE = Path(posttrainbench.__file__).parent
RECORD_WRITERS = ("trial", "records")
"""The packages that write trial folders."""

ALLOWED_DUMPS: dict[str, str] = {
    "trial/spec.py": "hashes the spec's identity into the trial id (nothing written)",
    "trial/manifest.py": "hashes a manifest into a fingerprint (nothing written)",
    "trial/rescore.py": "shows a scorer's verdict value as text (nothing written)",
    "trial/scrub.py": "re-writes the agent's raw stream lines (written by the sandbox) redacted",
    "trial/harbor.py": "writes Harbor's own formats into an export folder, not a trial folder",
    "trial/harbor_tasks.py": "writes Harbor task files into an export folder",
    "trial/_access_hook/sitecustomize.py": "runs inside the agent's Python; writes to a FIFO",
}
"""File -> why its ``json.dumps`` is not a trial record."""

RECORD_FILES = {
    "trial_json",
    "solve_outcome",
    "submission",
    "monitor_peaks",
    "audit",
    "eval_outcome",
    "result",
}
"""``TrialPaths`` attributes of JSON records."""


@cache
def _modules(*packages: str) -> list[tuple[str, ast.Module]]:
    roots = [PACKAGE / package for package in packages] if packages else [PACKAGE]
    return [
        (path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path)))
        for root in roots
        for path in sorted(root.rglob("*.py"))
    ]


def _calls(tree: ast.Module) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    return func.id if isinstance(func, ast.Name) else ""


def test_json_dumps_in_the_trial_package_is_never_a_record() -> None:
    found = {
        f"{name}:{call.lineno}"
        for name, tree in _modules(*RECORD_WRITERS)
        for call in _calls(tree)
        if _name(call.func) in {"json.dumps", "json.dump"} and name not in ALLOWED_DUMPS
    }
    assert not found, f"write a Record model instead of json.dumps: {sorted(found)}"


def test_every_jsonl_record_is_a_model_dump() -> None:
    untyped = [
        f"{name}:{call.lineno}"
        for name, tree in _modules()
        for call in _calls(tree)
        if _name(call.func) == "append_jsonl"
        and not (
            len(call.args) == 2
            and isinstance(call.args[1], ast.Call)
            and _name(call.args[1].func).endswith(".model_dump")
        )
    ]
    assert not untyped, f"append a model's model_dump(): {untyped}"


def test_record_files_are_written_only_by_their_model() -> None:
    text_writers = {"atomic_write_text", "atomic_write_bytes"}
    raw = []
    for name, tree in _modules():
        for call in _calls(tree):
            func = _name(call.func)
            if func in text_writers and call.args:
                target = call.args[0]
            elif func.endswith((".write_text", ".write_bytes")) and isinstance(
                call.func, ast.Attribute
            ):
                target = call.func.value
            else:
                continue
            if isinstance(target, ast.Attribute) and target.attr in RECORD_FILES:
                raw.append(f"{name}:{call.lineno}")
    assert not raw, f"write trial records with Record.save: {raw}"


def test_the_checks_see_what_they_look_for() -> None:
    # A guard against a walk that silently finds nothing (a moved package, a renamed call).
    names = {_name(call.func) for _, tree in _modules("trial") for call in _calls(tree)}
    assert {"append_jsonl", "json.dumps", "atomic_write_text"} <= names
    assert all((PACKAGE / name).is_file() for name in ALLOWED_DUMPS)
