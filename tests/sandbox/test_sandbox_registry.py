"""Choosing a sandbox backend by name."""

from __future__ import annotations

from pathlib import Path

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


class MissingBwrap(BwrapSandbox):
    """bwrap on a host that has none installed."""

    def __init__(self) -> None:
        super().__init__(bwrap="ptb-no-such-bwrap")


def test_registry_lists_the_built_in_backends() -> None:
    assert SANDBOXES.names() == ["apptainer", "bwrap", "docker", "podman", "process"]
    assert SANDBOXES.resolve("process") is ProcessSandbox
    assert SANDBOXES.resolve("bwrap") is BwrapSandbox


def test_a_named_backend_is_returned_ready() -> None:
    assert isinstance(get_sandbox("process"), ProcessSandbox)


def test_no_name_prefers_bwrap_where_it_runs() -> None:
    assert BwrapSandbox().unavailable_reason() is None  # this suite runs where bwrap does

    assert get_sandbox(None).name == "bwrap"


def test_auto_never_falls_back_to_the_unisolated_backend(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A host without bwrap or a container runtime: PATH holds none of them.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PTB_CONTAINER_IMAGE", raising=False)
    monkeypatch.setitem(SANDBOXES._entries, "bwrap", f"{__name__}:MissingBwrap")

    with pytest.raises(UserError, match="apt-get install bubblewrap.*--sandbox process"):
        get_sandbox(None)
    assert get_sandbox(None, unisolated_fallback=True).name == "process"
    assert get_sandbox("process").isolated is False


def test_an_unavailable_backend_is_a_user_error_with_the_fix() -> None:
    with pytest.raises(UserError, match="fly there first"):
        get_sandbox(f"{__name__}:UnavailableSandbox")


@pytest.mark.parametrize("name", ["docker-ish", "os:getcwd"])
def test_an_unknown_or_foreign_name_is_a_user_error(name: str) -> None:
    with pytest.raises(UserError):
        get_sandbox(name)
