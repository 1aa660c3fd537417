"""Lazy name -> "module:attr" registries, one per kind of plug-in (benchmarks, agents...).

A registry never imports its entries until one is asked for, so ``ptb --help`` stays
instant; any dotted ``package.module:attr`` path is accepted as well as a short name.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Generic, TypeVar

from posttrainbench.errors import UserError

__all__ = ["EXTRA_OF_PACKAGE", "Registry", "install_hint"]

T = TypeVar("T")

EXTRA_OF_PACKAGE = {
    "submitit": "slurm",
    "liger_kernel": "gpu",
    "peft": "gpu",
    "matplotlib": "plots",
}
"""Optional top-level packages -> the pyproject extra that installs them."""


def install_hint(package: str) -> str:
    """The pip command that installs ``package``: its extra where one exists."""
    extra = EXTRA_OF_PACKAGE.get(package.split(".")[0])
    return f"pip install 'posttrainbench[{extra}]'" if extra else f"pip install {package}"


class Registry(Generic[T]):
    """A named set of lazily imported factories of one kind."""

    def __init__(self, kind: str, entries: Mapping[str, str]) -> None:
        self.kind = kind
        self._entries = dict(entries)

    def names(self) -> list[str]:
        """Short names of the built-in entries, sorted."""
        return sorted(self._entries)

    def module_of(self, name: str) -> str:
        """The module a built-in entry lives in (imported by :meth:`resolve`)."""
        return self._entries[name].partition(":")[0]

    def resolve(self, name: str) -> T:
        """Import and return the object behind ``name`` (a short name or ``module:attr``)."""
        target = self._entries.get(name, name if ":" in name else None)
        if target is None:
            known = ", ".join(self.names())
            raise UserError(f"Unknown {self.kind} '{name}'. Known {self.kind}s: {known}.")
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                raise UserError(f"Cannot import {self.kind} '{name}' ({target}).") from error
            raise UserError(
                f"{self.kind} '{name}' needs the package '{error.name}', which is not "
                f"installed: {install_hint(error.name or module_name)}"
            ) from error
        obj: object = module
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError as error:
            raise UserError(f"{target}: '{module_name}' has no attribute '{attr}'.") from error
        return obj  # type: ignore[return-value]
