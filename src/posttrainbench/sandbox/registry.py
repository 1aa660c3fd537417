"""The sandbox backends by name, and the choice of one for a trial."""

from __future__ import annotations

import logging

from posttrainbench._registry import Registry
from posttrainbench.errors import UserError
from posttrainbench.sandbox.base import Sandbox

__all__ = ["SANDBOXES", "get_sandbox"]

_log = logging.getLogger(__name__)

SANDBOXES: Registry[type[Sandbox]] = Registry(
    "sandbox",
    {
        "process": "posttrainbench.sandbox.process:ProcessSandbox",
        "bwrap": "posttrainbench.sandbox.bwrap:BwrapSandbox",
        "podman": "posttrainbench.sandbox.containers:PodmanSandbox",
        "docker": "posttrainbench.sandbox.containers:DockerSandbox",
        "apptainer": "posttrainbench.sandbox.containers:ApptainerSandbox",
    },
)


def get_sandbox(name: str | None = None) -> Sandbox:
    """An available sandbox backend, ready to run.

    Args:
        name: A name from ``SANDBOXES`` or a ``module:attr`` path to a ``Sandbox``
            subclass; None picks ``bwrap`` where it can run, else ``process``.

    Raises:
        UserError: The backend is unknown, not a sandbox, or cannot run on this host
            (the message names the fix).
    """
    if name is None:
        bwrap = _instantiate("bwrap")
        reason = bwrap.unavailable_reason()
        if reason is None:
            return bwrap
        _log.warning("No isolation: the bwrap sandbox cannot run here (%s)", reason)
        return _instantiate("process")
    sandbox = _instantiate(name)
    reason = sandbox.unavailable_reason()
    if reason is not None:
        raise UserError(f"The {name} sandbox cannot run here: {reason}")
    return sandbox


def _instantiate(name: str) -> Sandbox:
    cls: object = SANDBOXES.resolve(name)
    if not (isinstance(cls, type) and issubclass(cls, Sandbox)):
        raise UserError(f"'{name}' is not a Sandbox subclass.")
    return cls()
