"""The ``bwrap`` backend: bubblewrap with an empty root, PID namespace and read-only system.

The sandbox sees the system directories and the harness's Python read-only, a minimal
``/etc`` (see ``identity.ETC_ENTRIES``), a private ``/proc`` whose kernel knobs are
read-only, a private ``/dev``, and the request's mounts (the trial's own folder as /tmp,
unless a private tmpfs); nothing else of the host (no ``/root``, ``/home``, other trials'
run directories or the harness's files). The agent runs as ``identity.AGENT_UID``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typing_extensions import override

from posttrainbench.errors import UserError
from posttrainbench.sandbox._runner import Launch, run_tree
from posttrainbench.sandbox.base import Mount, Sandbox, SandboxRequest, SandboxResult
from posttrainbench.sandbox.identity import (
    AGENT_GID,
    AGENT_UID,
    ETC_ENTRIES,
    etc_identity,
    give_to_agent,
    let_agent_read,
)
from posttrainbench.sandbox.network import joined_network

__all__ = ["BwrapSandbox", "HostLayout", "build_bwrap_argv", "host_layout"]

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64")
_TMP = Path("/tmp")
# Writable kernel knobs of procfs: read-only even for a process that kept some privilege.
_PROC_KNOBS = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")
_INSTALL_HINT = "install it with `apt-get install bubblewrap` (or `dnf install bubblewrap`)"


@dataclass(frozen=True)
class HostLayout:
    """The host paths a sandbox shows besides the request's mounts."""

    ro_binds: tuple[Path, ...] = ()
    """Directories bound read-only at the same path, parents before children."""
    symlinks: tuple[tuple[str, Path], ...] = ()
    """``(target, link)`` pairs recreated inside (merged-/usr systems link /bin to usr/bin)."""
    gpu_devices: tuple[Path, ...] = ()
    """NVIDIA device nodes, exposed only when the request asks for GPUs."""
    etc_entries: tuple[Path, ...] = ()
    """Entries of the host's /etc shown read-only (the rest of /etc stays out)."""
    setpriv: str | None = None
    """``setpriv`` (util-linux), which drops a root harness's agent to ``AGENT_UID``."""


def host_layout() -> HostLayout:
    """Inspect this host: system directories, the Python installation, GPU device nodes."""
    system: list[Path] = []
    symlinks: list[tuple[str, Path]] = []
    for name in _SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            symlinks.append((str(path.readlink()), path))
        elif path.is_dir():
            system.append(path)
    python = [path for path in _python_dirs() if not _covered(path.resolve(), system)]
    return HostLayout(
        ro_binds=_outermost([*system, *python]),
        symlinks=tuple(symlinks),
        gpu_devices=tuple(sorted(Path("/dev").glob("nvidia*"))),
        etc_entries=_etc_entries(),
        setpriv=shutil.which("setpriv") or shutil.which("setpriv", path="/usr/bin:/bin"),
    )


def _etc_entries() -> tuple[Path, ...]:
    etc = Path("/etc")
    wanted = [etc / name for name in ETC_ENTRIES] + sorted(etc.glob("python3*"))
    # A link to a missing file (resolv.conf to a stopped resolver, say) cannot be bound.
    return tuple(path for path in wanted if path.exists())


def build_bwrap_argv(
    request: SandboxRequest,
    layout: HostLayout,
    *,
    bwrap: str = "bwrap",
    env_fd: int | None = None,
    info_fd: int | None = None,
    etc_fds: Mapping[str, int] | None = None,
) -> list[str]:
    """The bwrap command line that runs ``request`` (a pure function of its arguments).

    Args:
        request: What to run, with its mounts, environment and isolation options.
        layout: The host paths to show besides the mounts (see ``host_layout``).
        bwrap: The bwrap executable.
        env_fd: A descriptor holding the environment's ``bwrap_env_args`` NUL-separated; when
            given, the environment travels through it instead of the command line, where
            any host user could read API keys in ``ps``.
        info_fd: A descriptor bwrap writes the sandbox's namespace ids to, as JSON.
        etc_fds: Descriptors holding generated /etc files (``etc_identity``), by path.
    """
    root = os.geteuid() == 0 and layout.setpriv is not None
    argv = [bwrap, *_isolation_args(request, root=root), *_filesystem_args(request, layout)]
    for path, fd in (etc_fds or {}).items():
        argv += ["--ro-bind-data", str(fd), path]
    argv += ["--args", str(env_fd)] if env_fd is not None else bwrap_env_args(_inside_env(request))
    argv += ["--info-fd", str(info_fd)] if info_fd is not None else []
    argv += ["--chdir", str(request.cwd), "--"]
    if root:
        # bwrap keeps only the right to change ids; setpriv uses it once, and the switch
        # to a non-zero uid clears every capability (no_new_privs keeps them cleared).
        ids = [f"--reuid={AGENT_UID}", f"--regid={AGENT_GID}", "--clear-groups"]
        ids.append("--inh-caps=-all")
        argv += [str(layout.setpriv), *ids, "--"]
    return [*argv, *request.argv]


def _inside_env(request: SandboxRequest) -> Mapping[str, str]:
    """``request.env`` as seen inside: the exposed GPUs renumbered from 0, as CUDA sees them."""
    if not request.gpus:
        return request.env
    return {**request.env, "CUDA_VISIBLE_DEVICES": ",".join(map(str, range(len(request.gpus))))}


def bwrap_env_args(env: Mapping[str, str]) -> list[str]:
    """Options that give the sandbox exactly ``env``, nothing inherited."""
    args = ["--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


def _isolation_args(request: SandboxRequest, *, root: bool) -> list[str]:
    # Run as root without a user namespace, bwrap keeps every capability by default:
    # with CAP_SYS_ADMIN the agent could remount binds writable or mount the host's disk.
    # Dropped, they stay dropped: bwrap sets no_new_privs, so no exec can regain them.
    args = ["--cap-drop", "ALL"]
    if root:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        # An unprivileged harness gets a user namespace; its uid is the agent's there.
        args += ["--unshare-user", "--uid", str(AGENT_UID), "--gid", str(AGENT_GID)]
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if request.network.isolated:
        args.append("--unshare-net")  # other policies: the namespace joined_network made
    return args


def _filesystem_args(request: SandboxRequest, layout: HostLayout) -> list[str]:
    # The /tmp first: a later one would hide whatever the layout shares from under /tmp
    # (a virtual environment in a checkout there, say).
    tmp = _tmp_mount(request)
    args = ["--bind", str(tmp.source), "/tmp"] if tmp else ["--tmpfs", "/tmp"]
    args += _parent_dirs([*layout.ro_binds, *(m.inside for m in request.mounts if m is not tmp)])
    for path in layout.ro_binds:
        args += ["--ro-bind", str(path), str(path)]
    for target, link in layout.symlinks:
        args += ["--symlink", target, str(link)]
    args += ["--dir", "/etc"]
    for path in layout.etc_entries:
        args += ["--ro-bind", str(path), str(path)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    # A private, agent-writable /dev/shm (bwrap's is root's, 0755): POSIX shared memory and
    # semaphores (multiprocessing, DataLoader workers) need it; its pages count against the
    # agent's memory limit, and it vanishes with the sandbox.
    args += ["--perms", "1777", "--tmpfs", "/dev/shm"]
    for knob in _PROC_KNOBS:
        args += ["--ro-bind-try", knob, knob]
    if request.gpus:
        # Only the trial's GPUs (plus the shared control nodes): CUDA then sees exactly
        # those, numbered from 0 (see _inside_env), and cannot open another trial's GPU.
        for device in layout.gpu_devices:
            number = re.fullmatch(r"nvidia(\d+)", device.name)
            if number is None or int(number.group(1)) in request.gpus:
                args += ["--dev-bind", str(device), str(device)]
        # The CUDA driver and NVML read the PCI topology from /sys.
        args += ["--ro-bind", "/sys", "/sys"]
    # Parents first, so that a mount inside another one is not hidden by it.
    for mount in sorted(request.mounts, key=lambda mount: len(mount.inside.parts)):
        if mount is tmp:
            continue
        kind = "--bind" if mount.writable else "--ro-bind"
        args += [kind, str(mount.source), str(mount.inside)]
    return args


def _parent_dirs(targets: list[Path]) -> list[str]:
    """Options creating the parents of ``targets`` traversable by the agent.

    bwrap gives a created parent the mode of the host's folder: a harness Python under
    root's 0700 home would be unreachable for the unprivileged agent.
    """
    args: list[str] = []
    made: set[Path] = set()
    for target in targets:
        for parent in reversed(target.parents):
            if parent in made or parent == Path("/") or _covered(parent, targets):
                continue
            made.add(parent)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _tmp_mount(request: SandboxRequest) -> Mount | None:
    """The request's writable mount shown as /tmp, if it has one."""
    return next((m for m in request.mounts if m.writable and m.inside == _TMP), None)


def claim_mount_points(request: SandboxRequest, layout: HostLayout) -> None:
    """Make every mount point under a bound /tmp a real folder of the harness's.

    bwrap creates the mount points of what it shows under /tmp (a checkout's virtual
    environment, the trial's own folders) inside the folder bound there, which the agent
    wrote during an earlier run: a link it left on such a path must not lead bwrap's
    ``mkdir`` (as root) out of it. No agent process runs now, so nothing can race this.
    """
    tmp = _tmp_mount(request)
    if tmp is None:
        return
    inner = [*((p, p) for p in layout.ro_binds)]
    inner += [(m.inside, m.source) for m in request.mounts if m is not tmp]
    for path, source in inner:
        if not path.is_relative_to(_TMP) or path == _TMP:
            continue
        current = tmp.source
        *parents, last = path.relative_to(_TMP).parts
        for part in parents:
            current = current / part
            _make_real(current, directory=True)
        _make_real(current / last, directory=source.is_dir(), create=False)


def _make_real(path: Path, *, directory: bool, create: bool = True) -> None:
    """Leave at ``path`` a real folder (or nothing), never a link or the wrong kind."""
    if path.is_symlink() or (path.exists() and path.is_dir() != directory):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    if create and not path.exists():
        path.mkdir(mode=0o755)


@functools.cache
def _python_dirs() -> tuple[Path, ...]:
    """Where the harness's Python finds its modules, as a fresh interpreter sees them.

    Asking a fresh interpreter, rather than reading ``sys.path``, leaves out the
    harness's script directory and working directory (a home directory, often) while
    keeping what ``.pth`` files add, such as an editable install's ``src`` directory.
    """
    fresh = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; print('\\n'.join(sys.path))"],
        env={},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    # The package itself, in case an import hook rather than sys.path finds it.
    here = Path(__file__).resolve().parents[2]
    dirs = [Path(sys.base_prefix), Path(sys.prefix), here]
    for entry in map(Path, fresh):
        if entry.is_absolute() and entry.exists():
            dirs.append(entry if entry.is_dir() else entry.parent)
    # A symlinked installation is reached by both names: its own links may use either.
    return tuple(dict.fromkeys([*dirs, *(path.resolve() for path in dirs)]))


def _covered(path: Path, outers: list[Path]) -> bool:
    return any(path.is_relative_to(outer) for outer in outers)


def _outermost(paths: list[Path]) -> tuple[Path, ...]:
    kept: list[Path] = []
    for path in sorted(set(paths), key=lambda path: (len(path.parts), path)):
        if not _covered(path, kept):
            kept.append(path)
    return tuple(kept)


@functools.cache
def _probe(bwrap: str) -> str | None:
    """Why ``bwrap`` cannot build a sandbox here (None when it can).

    The probe binds only the system directories a sandbox shows, never ``/`` whole: a
    recursive bind of ``/`` copies every mount under ``/run``, including another trial's
    network namespace that may vanish mid-copy and fail the probe for the whole process.
    """
    layout = host_layout()
    argv = [bwrap, "--unshare-pid"]
    if os.geteuid() != 0:
        argv.append("--unshare-user")  # what an unprivileged harness's sandbox needs
    for path in layout.ro_binds:
        argv += ["--ro-bind", str(path), str(path)]
    for target, link in layout.symlinks:
        argv += ["--symlink", target, str(link)]
    argv += ["--proc", "/proc", "--dev", "/dev", "true"]
    shown = f"`{bwrap} --unshare-pid ... true`"
    try:
        probe = subprocess.run(
            argv, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{shown} could not run ({error}); {_INSTALL_HINT}."
    if probe.returncode == 0:
        return None
    return f"{shown} fails here ({probe.stderr.strip()}). {_failure_hint(probe.stderr)}"


def _failure_hint(stderr: str) -> str:
    """What to do about a failed probe, judged by what bwrap said."""
    if re.search(r"namespace|uid map|setgroups", stderr, re.IGNORECASE):
        return (
            "Unprivileged user namespaces look disabled: enable them (sysctl "
            "kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0; in a "
            "container, allow them or run it privileged), or use the 'process' sandbox."
        )
    return "Use the 'process' sandbox where bwrap cannot mount the host's system directories."


@contextmanager
def _memory_file(name: str, content: bytes = b"") -> Iterator[int]:
    """A descriptor on an anonymous file holding ``content``, read from its start."""
    fd = os.memfd_create(name)
    try:
        with os.fdopen(fd, "wb", closefd=False) as file:
            file.write(content)
        os.lseek(fd, 0, os.SEEK_SET)
        yield fd
    finally:
        os.close(fd)


def _read_pid_namespace(info_fd: int) -> int | None:
    """The sandbox's PID namespace from bwrap's ``--info-fd`` JSON, once it is written."""
    try:
        info = json.loads(os.pread(info_fd, 1 << 16, 0))
    except ValueError:
        return None  # not written yet (or half written)
    namespace = info.get("pid-namespace")
    return namespace if isinstance(namespace, int) else None


class BwrapSandbox(Sandbox):
    """Runs the argv under bubblewrap: its own PID, IPC and UTS namespaces, no capabilities.

    Only the request's mounts are writable (besides a private ``/tmp``). The environment
    is ``request.env`` plus ``PWD``, which ``bwrap --chdir`` always sets. The SIGTERM at
    the time limit goes to the processes inside; the SIGKILL after the grace also kills
    bwrap itself, whose death (``--die-with-parent`` on an ``--unshare-pid`` sandbox)
    tears down the whole PID namespace, so no process of the agent can survive it.
    """

    name = "bwrap"

    def __init__(self, bwrap: str | None = None, layout: HostLayout | None = None) -> None:
        self._bwrap = bwrap
        self._layout = layout

    def _binary(self) -> str | None:
        if self._bwrap is not None:
            return shutil.which(self._bwrap)
        # A harness started with a bare PATH still finds the distribution's bwrap.
        return shutil.which("bwrap") or shutil.which("bwrap", path="/usr/bin")

    @override
    def unavailable_reason(self) -> str | None:
        binary = self._binary()
        if binary is None:
            return f"bubblewrap (bwrap) is not installed; {_INSTALL_HINT}."
        return _probe(binary)

    @override
    def run(self, request: SandboxRequest) -> SandboxResult:
        binary = self._binary()
        reason = self.unavailable_reason()
        if binary is None or reason is not None:
            raise UserError(f"The bwrap sandbox cannot run here: {reason}")
        layout = self._layout or host_layout()
        give_to_agent(m.source for m in request.mounts if m.writable)
        let_agent_read(m.source for m in request.mounts if not m.writable)
        claim_mount_points(request, layout)
        env = b"".join(os.fsencode(arg) + b"\0" for arg in bwrap_env_args(_inside_env(request)))
        etc = etc_identity(request.env.get("HOME", "/nonexistent"))
        with (
            _memory_file("ptb-bwrap-env", env) as env_fd,
            _memory_file("ptb-bwrap-info") as info,
            _memory_file("ptb-passwd", etc["/etc/passwd"]) as passwd,
            _memory_file("ptb-group", etc["/etc/group"]) as group,
            joined_network(request.network, request.egress_log) as in_network,
        ):
            argv = build_bwrap_argv(
                request,
                layout,
                bwrap=binary,
                env_fd=env_fd,
                info_fd=info,
                etc_fds={"/etc/passwd": passwd, "/etc/group": group},
            )
            launch = Launch(
                argv=in_network(argv),
                env={},
                cwd=Path("/"),
                # bwrap must survive the SIGTERM: its death would kill the agent at once,
                # leaving it no grace to save its work.
                term_top=False,
                pass_fds=(env_fd, info, passwd, group),
                pid_namespace=functools.partial(_read_pid_namespace, info),
            )
            return run_tree(launch, request)
