"""Imports done on a thread while a block waits: finished after it, never waited on an error."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from posttrainbench._warm import importing_meanwhile


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A module ``gated`` whose import waits until ``gate.release`` is set."""
    (tmp_path / "gate.py").write_text("import threading\nrelease = threading.Event()\n")
    (tmp_path / "gated.py").write_text(
        textwrap.dedent(
            """
            import gate
            gate.release.wait(60)
            gate.imported = True
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import gate as module

    yield module
    module.release.set()
    for name in ("gate", "gated"):
        sys.modules.pop(name, None)


def test_the_block_ends_with_the_imports_done(gate: ModuleType) -> None:
    with importing_meanwhile(["gated"]):
        assert not getattr(gate, "imported", False)  # still waiting at the gate
        gate.release.set()
    assert gate.imported


def test_a_block_left_by_an_exception_does_not_wait_for_them(gate: ModuleType) -> None:
    with pytest.raises(SystemExit), importing_meanwhile(["gated"]):
        raise SystemExit(143)  # as a SIGTERM handler does
    assert not getattr(gate, "imported", False)  # the import is still at its gate
