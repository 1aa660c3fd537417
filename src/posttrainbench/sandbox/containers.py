"""Container backends: ``podman`` / ``docker`` (OCI images) and ``apptainer`` (HPC sites).

The image must hold what the agent runs (its CLI, a Python with the packages it needs).
The request's mounts are bound at the same paths (read-only unless ``writable``): the
trial's workspace writable, the base model and the prompt read-only, nothing of other
trials. Settings come from the environment, so that one experiment file runs anywhere:

- ``PTB_CONTAINER_IMAGE``: the image (OCI reference, or a ``.sif`` file for apptainer).
- ``PTB_CONTAINER_ARGS``: extra engine options placed before ``run``/``exec`` (shell
  syntax), e.g. ``--cgroup-manager=cgroupfs --storage-driver=vfs --runtime runc`` for
  podman inside an unprivileged container.
- ``PTB_CONTAINER_ULIMITS``: the OCI ``--ulimit`` values (shell syntax), e.g.
  ``nofile=20000:20000 nproc=32768:32768``. Unset, each is 65536 lowered to what this
  host lets the engine grant (the harness's hard limit; for ``nproc`` also the kernel's
  ``pid_max``), since the engine fails to start a container asking for more.

The environment reaches the container through a private file (``--env-file``) or
apptainer's own environment (``APPTAINERENV_KEY``), never as ``KEY=value`` on a command
line that ``ps`` shows to every user.
"""

from __future__ import annotations

import os
import resource
import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typing_extensions import override

from posttrainbench.errors import UserError
from posttrainbench.sandbox._runner import Launch, run_tree
from posttrainbench.sandbox.base import Sandbox, SandboxRequest, SandboxResult
from posttrainbench.sandbox.identity import AGENT_GID, AGENT_UID, give_to_agent, let_agent_read
from posttrainbench.sandbox.network import joined_network

__all__ = [
    "ApptainerSandbox",
    "ContainerSettings",
    "DockerSandbox",
    "PodmanSandbox",
    "apptainer_environment",
    "build_apptainer_argv",
    "build_oci_argv",
    "host_ulimits",
    "write_env_file",
]

_OCI_ULIMITS = ("nofile=65536:65536", "nproc=65536:65536")
_ULIMIT_WANTED = 65536


def host_ulimits(pid_max_path: Path = Path("/proc/sys/kernel/pid_max")) -> tuple[str, ...]:
    """``nofile``/``nproc`` ulimits of 65536, lowered to what this host can grant.

    A container cannot get more than the engine's own hard limit; on some hosts runc also
    refuses an ``nproc`` above the kernel's ``pid_max``.
    """

    def granted(kind: int) -> int:
        hard = resource.getrlimit(kind)[1]
        return _ULIMIT_WANTED if hard == resource.RLIM_INFINITY else min(_ULIMIT_WANTED, hard)

    nofile, nproc = granted(resource.RLIMIT_NOFILE), granted(resource.RLIMIT_NPROC)
    try:
        nproc = min(nproc, int(pid_max_path.read_text().strip()))
    except (OSError, ValueError):
        pass
    return (f"nofile={nofile}:{nofile}", f"nproc={nproc}:{nproc}")


@dataclass(frozen=True)
class ContainerSettings:
    """Where a container backend's image and engine options come from."""

    image: str
    """OCI image reference, or an apptainer image (``.sif``) path or URI."""
    engine_args: tuple[str, ...] = ()
    """Engine options before the subcommand (e.g. podman's ``--storage-driver=vfs``)."""
    ulimits: tuple[str, ...] = _OCI_ULIMITS
    """OCI ``--ulimit`` values; explicit, as some hosts' defaults are too low to start."""
    user: str | None = field(default_factory=lambda: _agent_user())
    """OCI ``--user``: the unprivileged agent (``identity.AGENT_UID``) when the harness is
    root, which gives it the writable mounts; else the harness's own ids."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ContainerSettings:
        """``PTB_CONTAINER_IMAGE``, ``_ARGS`` and ``_ULIMITS`` (see the module docstring)."""
        environ = os.environ if environ is None else environ
        ulimits = environ.get("PTB_CONTAINER_ULIMITS")
        return cls(
            image=environ.get("PTB_CONTAINER_IMAGE", ""),
            engine_args=tuple(shlex.split(environ.get("PTB_CONTAINER_ARGS", ""))),
            ulimits=host_ulimits() if ulimits is None else tuple(shlex.split(ulimits)),
        )


def _agent_user() -> str:
    if os.geteuid() == 0:
        return f"{AGENT_UID}:{AGENT_GID}"
    return f"{os.getuid()}:{os.getgid()}"


def _inside_env(request: SandboxRequest, *, renumber_gpus: bool) -> dict[str, str]:
    env = dict(request.env)
    if request.gpus and renumber_gpus:
        # Only the trial's GPUs are in the container, and CUDA counts them from 0.
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, range(len(request.gpus))))
    return env


def build_oci_argv(
    request: SandboxRequest,
    settings: ContainerSettings,
    *,
    engine: str = "podman",
    name: str = "ptb-agent",
    env_file: Path | None = None,
) -> list[str]:
    """The ``podman run`` / ``docker run`` command line of ``request`` (pure function).

    The container gets no capabilities, no new privileges, a read-only root with a private
    ``/tmp``, the request's mounts, its own PID namespace with an init that reaps orphans,
    and only the request's GPUs (podman by CDI names, docker by ``--gpus``). Its variables
    come from ``env_file`` (see ``write_env_file``).
    """
    argv = [engine, *settings.engine_args, "run", "--rm", "--init", "--name", name]
    argv += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--read-only"]
    if not any(mount.inside == Path("/tmp") for mount in request.mounts):
        argv += ["--tmpfs", "/tmp"]
    argv += ["--network", _oci_network(request, engine)]
    if request.limits is not None:
        # The engine puts the container in cgroups of its own: the limits go with it.
        argv += ["--memory", str(request.limits.memory_bytes), "--memory-swap"]
        argv += [str(request.limits.memory_bytes), "--pids-limit", str(request.limits.processes)]
    for limit in settings.ulimits:
        argv += ["--ulimit", limit]
    if settings.user:
        argv += ["--user", settings.user]
    if request.stdin_path is not None:
        argv.append("--interactive")
    if request.gpus:
        if engine == "docker":
            argv += ["--gpus", f'"device={",".join(map(str, request.gpus))}"']
        else:
            argv += [arg for gpu in request.gpus for arg in ("--device", f"nvidia.com/gpu={gpu}")]
    for mount in sorted(request.mounts, key=lambda mount: len(mount.inside.parts)):
        spec = f"type=bind,source={mount.source},target={mount.inside}"
        argv += ["--mount", spec if mount.writable else f"{spec},readonly"]
    if env_file is not None:
        argv += ["--env-file", str(env_file)]
    argv += ["--workdir", str(request.cwd), settings.image, *request.argv]
    return argv


def _oci_network(request: SandboxRequest, engine: str) -> str:
    """The OCI ``--network`` of ``request``.

    ``none``, or podman's ``host``: the agent's namespace, in which ``joined_network``
    starts podman; docker's daemon starts containers outside it (``bridge``).
    """
    if request.network.isolated:
        return "none"
    return "bridge" if engine == "docker" else "host"


def build_apptainer_argv(
    request: SandboxRequest, settings: ContainerSettings, *, apptainer: str = "apptainer"
) -> list[str]:
    """The ``apptainer exec`` command line of ``request`` (pure function).

    Like the published harness: ``--contain`` (no host home, /tmp or /dev beyond the
    basics), ``--writable-tmpfs`` (the agent's writes outside its mounts are thrown away),
    ``--nv`` when GPUs are asked for; plus ``--cleanenv`` and a PID namespace. ``--nv``
    binds every GPU node, so ``CUDA_VISIBLE_DEVICES`` keeps the host's numbering (on a
    SLURM node, the job's cgroup is what keeps other jobs' GPUs out of reach).
    Variables travel as ``APPTAINERENV_<KEY>`` in apptainer's own environment.
    """
    argv = [apptainer, *settings.engine_args, "exec", "--contain", "--cleanenv", "--pid"]
    argv += ["--writable-tmpfs", "--no-home", "--no-privs"]
    if request.gpus:
        argv.append("--nv")
    if request.network.isolated:
        argv += ["--net", "--network", "none"]  # otherwise: the namespace joined_network made
    for mount in sorted(request.mounts, key=lambda mount: len(mount.inside.parts)):
        argv += ["--bind", f"{mount.source}:{mount.inside}:{'rw' if mount.writable else 'ro'}"]
    argv += ["--pwd", str(request.cwd), settings.image, *request.argv]
    return argv


def write_env_file(request: SandboxRequest, path: Path) -> None:
    """The container's variables as an engine ``--env-file`` (created mode 0600)."""
    lines = []
    for key, value in _inside_env(request, renumber_gpus=True).items():
        if "\n" in value or "\n" in key:
            raise UserError(f"The variable {key} holds a newline, which --env-file cannot carry.")
        lines.append(f"{key}={value}\n")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(lines)


def apptainer_environment(
    request: SandboxRequest, host: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Apptainer's own environment: the host's, and the request's as ``APPTAINERENV_*``."""
    host = os.environ if host is None else host
    env = {
        key: value
        for key, value in host.items()
        if not key.startswith(("APPTAINERENV_", "SINGULARITYENV_"))
    }
    inside = _inside_env(request, renumber_gpus=False)
    env.update({f"APPTAINERENV_{key}": value for key, value in inside.items()})
    return env


class _ContainerSandbox(Sandbox):
    binary: str
    host_python = False

    def __init__(self, settings: ContainerSettings | None = None) -> None:
        self.settings = settings or ContainerSettings.from_environment()

    @override
    def unavailable_reason(self) -> str | None:
        if shutil.which(self.binary) is None:
            return f"`{self.binary}` is not installed or not on PATH"
        if not self.settings.image:
            return "no image: set PTB_CONTAINER_IMAGE to the image the agent runs in"
        return None

    def _check(self) -> None:
        reason = self.unavailable_reason()
        if reason is not None:
            raise UserError(f"The {self.name} sandbox cannot run here: {reason}.")


class PodmanSandbox(_ContainerSandbox):
    """Runs the agent in an OCI container with podman (GPUs by CDI names)."""

    name = "podman"
    binary = "podman"

    @override
    def run(self, request: SandboxRequest) -> SandboxResult:
        self._check()
        if self.settings.user == f"{AGENT_UID}:{AGENT_GID}":
            give_to_agent(mount.source for mount in request.mounts if mount.writable)
            let_agent_read(mount.source for mount in request.mounts if not mount.writable)
        name = f"ptb-{uuid.uuid4().hex[:12]}"
        with tempfile.TemporaryDirectory(prefix="ptb-env-") as private:
            env_file = Path(private) / "env"
            write_env_file(request, env_file)
            argv = build_oci_argv(
                request, self.settings, engine=self.binary, name=name, env_file=env_file
            )
            try:
                with joined_network(request.network, request.egress_log) as in_network:
                    launch = Launch(argv=in_network(argv), env=dict(os.environ), cwd=Path("/"))
                    return run_tree(launch, request)
            finally:
                # The engine client may die before its container: remove it in any case.
                _remove_container(self.binary, self.settings.engine_args, name)


class DockerSandbox(PodmanSandbox):
    """Runs the agent in an OCI container with docker (GPUs by ``--gpus``).

    Only with the ``none`` network policy: docker's daemon, not the harness, starts the
    container, outside the namespace that holds the other policies (the default bridge
    would let the agent reach the host's services on its gateway address).
    """

    name = "docker"
    binary = "docker"

    @override
    def run(self, request: SandboxRequest) -> SandboxResult:
        if not request.network.isolated:
            raise UserError(
                f"The docker sandbox cannot hold the network policy '{request.network.mode}' "
                "(the daemon starts containers outside the agent's network namespace): use "
                "--network none, or the podman or bwrap sandbox."
            )
        return super().run(request)


class ApptainerSandbox(_ContainerSandbox):
    """Runs the agent with ``apptainer exec`` (HPC sites; see ``build_apptainer_argv``)."""

    name = "apptainer"
    binary = "apptainer"

    @override
    def run(self, request: SandboxRequest) -> SandboxResult:
        self._check()
        argv = build_apptainer_argv(request, self.settings, apptainer=self.binary)
        with joined_network(request.network, request.egress_log) as in_network:
            launch = Launch(
                argv=in_network(argv), env=apptainer_environment(request), cwd=Path("/")
            )
            return run_tree(launch, request)


def _remove_container(engine: str, engine_args: Sequence[str], name: str) -> None:
    subprocess.run(
        [engine, *engine_args, "rm", "--force", name],
        capture_output=True,
        timeout=120,
        check=False,
    )
