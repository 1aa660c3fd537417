"""Run an agent's argv with limits and mounts, and kill its whole process tree at the end.

The agent's network follows a policy (``internet``, ``none``, ``allow``; see
:mod:`posttrainbench.sandbox.network`), with its connections logged.

Backends: ``bwrap`` (bubblewrap: PID namespace, read-only system, only the mounts
writable), ``podman``/``docker`` (OCI images), ``apptainer`` (HPC sites) and ``process``
(no isolation, for development). ``get_sandbox`` picks one.
"""

from posttrainbench.sandbox.base import Mount, Sandbox, SandboxRequest, SandboxResult
from posttrainbench.sandbox.bwrap import BwrapSandbox, HostLayout, build_bwrap_argv, host_layout
from posttrainbench.sandbox.containers import (
    ApptainerSandbox,
    ContainerSettings,
    DockerSandbox,
    PodmanSandbox,
    build_apptainer_argv,
    build_oci_argv,
)
from posttrainbench.sandbox.egress import EgressRecord, read_egress
from posttrainbench.sandbox.network import (
    NETWORK_MODES,
    NO_NETWORK,
    NetworkPolicy,
    network_tools,
)
from posttrainbench.sandbox.process import ProcessSandbox
from posttrainbench.sandbox.registry import SANDBOXES, get_sandbox

__all__ = [
    "NETWORK_MODES",
    "NO_NETWORK",
    "SANDBOXES",
    "ApptainerSandbox",
    "BwrapSandbox",
    "ContainerSettings",
    "DockerSandbox",
    "EgressRecord",
    "HostLayout",
    "Mount",
    "NetworkPolicy",
    "PodmanSandbox",
    "ProcessSandbox",
    "Sandbox",
    "SandboxRequest",
    "SandboxResult",
    "build_apptainer_argv",
    "build_bwrap_argv",
    "build_oci_argv",
    "get_sandbox",
    "host_layout",
    "network_tools",
    "read_egress",
]
