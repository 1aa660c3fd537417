"""Choosing a sandbox backend by name."""

from __future__ import annotations

import pytest
from typing_extensions import override

from posttrainbench.errors import UserError
from posttrainbench.sandbox import (
    SANDBOXES,
    BwrapSandbox,
    ProcessSandbox,
    Sandbox,
    SandboxRequest,
    SandboxResult,
    get_sandbox,
)


class UnavailableSandbox(Sandbox):
    """A backend that never runs here, reached by its import path."""

    name = "unavailable"

    @override
    def unavailable_reason(self) -> str | None:
        return "it needs the moon; fly there first"

    @override
    def run(self, request: SandboxRequest) -> SandboxResult:
        raise AssertionError("never called")


def test_registry_lists_the_built_in_backends() -> None:
    assert SANDBOXES.names() == ["apptainer", "bwrap", "docker", "podman", "process"]
    assert SANDBOXES.resolve("process") is ProcessSandbox
    assert SANDBOXES.resolve("bwrap") is BwrapSandbox


def test_a_named_backend_is_returned_ready() -> None:
    assert isinstance(get_sandbox("process"), ProcessSandbox)


def test_no_name_prefers_bwrap_where_it_runs() -> None:
    expected = "bwrap" if BwrapSandbox().unavailable_reason() is None else "process"

    assert get_sandbox(None).name == expected


def test_an_unavailable_backend_is_a_user_error_with_the_fix() -> None:
    with pytest.raises(UserError, match="fly there first"):
        get_sandbox(f"{__name__}:UnavailableSandbox")


@pytest.mark.parametrize("name", ["docker-ish", "os:getcwd"])
def test_an_unknown_or_foreign_name_is_a_user_error(name: str) -> None:
    with pytest.raises(UserError):
        get_sandbox(name)
