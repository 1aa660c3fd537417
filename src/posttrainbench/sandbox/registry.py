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


_AUTO = ("bwrap", "podman", "docker")
"""What ``auto`` tries, in order."""


def get_sandbox(name: str | None = None, *, unisolated_fallback: bool = False) -> Sandbox:
    """An available sandbox backend, ready to run.

    Args:
        name: A name from ``SANDBOXES`` or a ``module:attr`` path to a ``Sandbox``
            subclass; None picks ``bwrap`` where it can run, else ``podman`` or
            ``docker`` where an image is configured; never the unisolated ``process``,
            which runs only when named.
        unisolated_fallback: Let None fall back to ``process`` (with a warning), for
            harness-side code runs such as unit tests of an answer, never for agents.

    Raises:
        UserError: The backend is unknown, not a sandbox, or cannot run on this host
            (the message names the fix).
    """
    if name is None:
        reasons = []
        for candidate in _AUTO:
            sandbox = _instantiate(candidate)
            reason = sandbox.unavailable_reason()
            if reason is None:
                return sandbox
            reasons.append(f"{candidate}: {reason}")
        if unisolated_fallback:
            _log.warning("No isolation: no sandbox can run here (%s)", "; ".join(reasons))
            return _instantiate("process")
        raise UserError(
            "No isolating sandbox can run here, and agents never run unisolated by default ("
            + "; ".join(reasons)
            + "). Install bubblewrap (`apt-get install bubblewrap`), or podman with "
            "PTB_CONTAINER_IMAGE set; or pass --sandbox process to run the agent on the "
            "host with no isolation (its trials are marked unisolated)."
        )
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
