"""Registries: lazy resolution and the install hint for a missing optional dependency."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from posttrainbench._registry import EXTRA_OF_PACKAGE, Registry, install_hint
from posttrainbench.errors import UserError

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def test_every_named_extra_exists_and_installs_its_package() -> None:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    for package, extra in EXTRA_OF_PACKAGE.items():
        assert extra in extras, f"{package}: extra '{extra}' is not in pyproject.toml"
        names = {
            re.split(r"[<>=\[; ]", req, maxsplit=1)[0].replace("-", "_") for req in extras[extra]
        }
        assert package in names, f"extra '{extra}' does not install {package}"


def test_missing_dependency_names_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ptb_plugin_needs_peft.py").write_text("import peft_is_not_installed_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[object] = Registry("widget", {"w": "ptb_plugin_needs_peft:thing"})
    with pytest.raises(UserError, match=r"needs the package 'peft_is_not_installed_here'") as info:
        registry.resolve("w")
    assert "pip install peft_is_not_installed_here" in str(info.value)
    sys.modules.pop("ptb_plugin_needs_peft", None)


def test_install_hint_uses_the_extra() -> None:
    assert install_hint("submitit") == "pip install 'posttrainbench[slurm]'"
    assert install_hint("liger_kernel.transformers") == "pip install 'posttrainbench[gpu]'"


def test_unknown_name_lists_the_known_ones() -> None:
    registry: Registry[object] = Registry("widget", {"b": "x:y", "a": "x:z"})
    with pytest.raises(UserError, match="Unknown widget 'c'. Known widgets: a, b."):
        registry.resolve("c")
