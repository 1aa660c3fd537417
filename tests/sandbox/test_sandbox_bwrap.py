"""The bwrap backend: its command line, and what a real sandbox hides from the agent."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import posttrainbench
from posttrainbench.sandbox import (
    NO_NETWORK,
    BwrapSandbox,
    HostLayout,
    Mount,
    NetworkPolicy,
    SandboxRequest,
    build_bwrap_argv,
    host_layout,
    network_tools,
)

pytestmark = pytest.mark.timeout(60)

ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"}
LAYOUT = HostLayout(
    ro_binds=(Path("/etc"), Path("/usr"), Path("/opt/python")),
    symlinks=(("usr/bin", Path("/bin")),),
    gpu_devices=(Path("/dev/nvidia0"), Path("/dev/nvidiactl")),
)

# Probes run inside the sandbox; each takes its inputs from argv and prints one JSON value.
WRITE_PROBE = """
import json, pathlib, sys
def attempt(path):
    try:
        pathlib.Path(path).write_text("changed")
        return "written"
    except OSError as error:
        return error.strerror
print(json.dumps([attempt(path) for path in sys.argv[1:]]))
"""
LIST_PROBE = """
import json, os, sys
print(json.dumps({p: sorted(os.listdir(p)) if os.path.isdir(p) else None for p in sys.argv[1:]}))
"""
PID_PROBE = """
import json, os, pathlib
pids = sorted(int(p.name) for p in pathlib.Path("/proc").iterdir() if p.name.isdigit())
print(json.dumps([os.getpid(), pids]))
"""
PRIVILEGE_PROBE = """
import ctypes, json, os
status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines())
libc = ctypes.CDLL(None, use_errno=True)
mounted = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0
print(json.dumps([status["CapEff"], status["CapPrm"], status["NoNewPrivs"], mounted]))
"""
NETWORK_PROBE = """
import json, socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
    reached = True
except OSError:
    reached = False
print(json.dumps([reached, [name for _, name in socket.if_nameindex()]]))
"""


def make_request(workspace: Path, argv: list[str], **options: Any) -> SandboxRequest:
    options.setdefault("mounts", [Mount(workspace, writable=True)])
    return SandboxRequest(
        argv=argv,
        cwd=workspace,
        env=ENV,
        time_limit_s=30.0,
        output_path=workspace.parent / "agent" / "stream.jsonl",
        **options,
    )


def pairs(argv: list[str], option: str) -> list[tuple[str, str]]:
    """The (source, destination) operands of every ``option`` in ``argv``."""
    return [(argv[i + 1], argv[i + 2]) for i, arg in enumerate(argv) if arg == option]


# -- the command line (pure) -----------------------------------------------------------------


def test_argv_isolates_and_runs_the_command_last(tmp_path: Path) -> None:
    request = make_request(tmp_path, ["agent", "--flag"], network=NO_NETWORK)

    argv = build_bwrap_argv(request, LAYOUT, bwrap="/usr/bin/bwrap")

    assert argv[0] == "/usr/bin/bwrap"
    assert argv[-3:] == ["--", "agent", "--flag"]
    isolation = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    isolation += ["--unshare-net", "--die-with-parent", "--new-session", "--clearenv"]
    assert set(isolation) <= set(argv)
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[argv.index("--chdir") + 1] == str(tmp_path)
    assert pairs(argv, "--symlink") == [("usr/bin", "/bin")]
    start = argv.index("--proc")
    assert argv[start : start + 4] == ["--proc", "/proc", "--dev", "/dev"]
    # The private /tmp comes before every bind, so that it hides none of them.
    assert argv.index("--tmpfs") < argv.index("--ro-bind")
    assert argv[argv.index("--tmpfs") + 1] == "/tmp"


def test_argv_shares_only_the_layout_and_the_mounts(tmp_path: Path) -> None:
    workspace, data = tmp_path / "ws", tmp_path / "data"
    nested = workspace / "sub"
    mounts = [Mount(nested), Mount(workspace, writable=True), Mount(data, target=Path("/d"))]

    argv = build_bwrap_argv(make_request(workspace, ["agent"], mounts=mounts), LAYOUT)

    assert pairs(argv, "--ro-bind") == [
        ("/etc", "/etc"),
        ("/usr", "/usr"),
        ("/opt/python", "/opt/python"),
        (str(data), "/d"),
        (str(nested), str(nested)),  # after its parent, or the parent would hide it
    ]
    assert pairs(argv, "--bind") == [(str(workspace), str(workspace))]
    assert "--dev-bind" not in argv and "/sys" not in argv
    assert "--unshare-net" not in argv


def test_argv_exposes_gpu_devices_only_when_asked(tmp_path: Path) -> None:
    argv = build_bwrap_argv(make_request(tmp_path, ["agent"], gpus=(0,)), LAYOUT)

    assert pairs(argv, "--dev-bind") == [
        ("/dev/nvidia0", "/dev/nvidia0"),
        ("/dev/nvidiactl", "/dev/nvidiactl"),
    ]
    assert ("/sys", "/sys") in pairs(argv, "--ro-bind")


def test_argv_keeps_the_environment_off_the_command_line_given_a_descriptor(
    tmp_path: Path,
) -> None:
    request = make_request(tmp_path, ["agent"])

    inline = build_bwrap_argv(request, LAYOUT)
    hidden = build_bwrap_argv(request, LAYOUT, env_fd=7, info_fd=8)

    assert ("PATH", ENV["PATH"]) in pairs(inline, "--setenv")
    assert hidden[hidden.index("--args") + 1] == "7"
    assert hidden[hidden.index("--info-fd") + 1] == "8"
    assert "--setenv" not in hidden and ENV["PATH"] not in hidden


def test_host_layout_shares_the_python_but_no_home_or_working_directory() -> None:
    binds = host_layout().ro_binds
    src = Path(posttrainbench.__file__).resolve().parents[1]

    assert all(path.exists() for path in binds)
    for needed in (Path(sys.base_prefix), Path(sys.prefix), src):
        assert any(needed.is_relative_to(path) for path in binds), needed
    # pytest put this directory on sys.path; the sandbox's own Python does not need it.
    assert not any(Path(__file__).parent.is_relative_to(path) for path in binds)
    for private in {Path("/"), Path.home(), Path.cwd(), Path("/home"), Path("/work")} - {src}:
        assert private not in binds


# -- a real sandbox ----------------------------------------------------------------------------


@pytest.fixture
def bwrap() -> BwrapSandbox:
    backend = BwrapSandbox()
    reason = backend.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return backend


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


def probe(bwrap: BwrapSandbox, workspace: Path, code: str, *args: str, **options: Any) -> Any:
    """Run ``code`` with ``args`` in the sandbox and return the JSON value it prints."""
    request = make_request(workspace, ["python", "-c", code, *args], **options)
    result = bwrap.run(request)
    lines = [json.loads(line)["line"] for line in request.output_path.read_text().splitlines()]
    assert result.exit_code == 0, lines
    return json.loads(lines[-1])


def test_only_writable_mounts_can_be_written(
    bwrap: BwrapSandbox, workspace: Path, tmp_path: Path
) -> None:
    given = tmp_path / "readonly" / "given.txt"
    given.parent.mkdir()
    given.write_text("original")
    mounts = [Mount(workspace, writable=True), Mount(given.parent)]

    outcome = probe(
        bwrap, workspace, WRITE_PROBE, "new.txt", str(given), "/usr/probe", mounts=mounts
    )

    assert outcome == ["written", "Read-only file system", "Read-only file system"]
    assert (workspace / "new.txt").read_text() == "changed"
    assert given.read_text() == "original"


def test_unmounted_host_paths_are_invisible(
    bwrap: BwrapSandbox, workspace: Path, tmp_path: Path
) -> None:
    other_trial = tmp_path / "other-trial"
    other_trial.mkdir()
    (other_trial / "secret.txt").write_text("secret")
    tops = ["/root", "/home", "/work"]

    seen = probe(bwrap, workspace, LIST_PROBE, str(other_trial), str(tmp_path), *tops)

    assert seen[str(other_trial)] is None
    assert seen[str(tmp_path)] == ["workspace"]
    # All that is left of /root, /home and /work is the way down to the Python installation.
    shared = [*host_layout().ro_binds, workspace]
    for top in tops:
        for name in seen[top] or []:
            assert any(path.is_relative_to(Path(top) / name) for path in shared), (top, name)


def test_a_shared_directory_under_tmp_stays_visible(workspace: Path, tmp_path: Path) -> None:
    # A checkout in /tmp puts its virtual environment there: the private /tmp must not hide it.
    installed = tmp_path / "checkout" / ".venv"
    installed.mkdir(parents=True)
    (installed / "marker.txt").write_text("shared")
    layout = host_layout()
    backend = BwrapSandbox(layout=HostLayout(layout.ro_binds + (installed,), layout.symlinks))
    if (reason := backend.unavailable_reason()) is not None:
        pytest.skip(reason)

    code = "import json, sys; print(json.dumps(open(sys.argv[1]).read()))"
    assert probe(backend, workspace, code, str(installed / "marker.txt")) == "shared"


def test_the_agent_has_its_own_pid_namespace(bwrap: BwrapSandbox, workspace: Path) -> None:
    own, pids = probe(bwrap, workspace, PID_PROBE)

    assert own < 10
    assert os.getpid() not in pids and max(pids) < 10


def test_the_agent_has_no_capabilities(bwrap: BwrapSandbox, workspace: Path) -> None:
    # Run as root, bwrap keeps every capability unless told: the agent could then mount.
    effective, permitted, no_new_privs, mounted = probe(bwrap, workspace, PRIVILEGE_PROBE)

    assert int(effective, 16) == 0 and int(permitted, 16) == 0
    assert no_new_privs == "1"  # so no exec (of a setuid binary, say) gives them back
    assert not mounted


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.mark.parametrize("mode", ["internet", "none"])
def test_no_network_policy_reaches_the_hosts_loopback(
    bwrap: BwrapSandbox, workspace: Path, listener: int, mode: str
) -> None:
    if mode != "none" and (reason := network_tools().unavailable_reason()):
        pytest.skip(reason)
    policy = NetworkPolicy(mode=mode)  # type: ignore[arg-type]
    reached, interfaces = probe(bwrap, workspace, NETWORK_PROBE, str(listener), network=policy)

    assert not reached
    assert interfaces == (["lo"] if mode == "none" else ["lo", "tap0"])


def test_the_agent_cannot_kill_a_host_process(bwrap: BwrapSandbox, workspace: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        result = bwrap.run(make_request(workspace, ["bash", "-c", f"kill -9 {sleeper.pid}"]))

        assert result.exit_code != 0
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_double_forked_daemon_dies_with_the_namespace(
    bwrap: BwrapSandbox, workspace: Path
) -> None:
    marker = f"ptb-marker-{uuid.uuid4().hex}"
    # The middle shell exits at once: no poll sees the daemon before it is orphaned.
    script = f"(setsid bash -c 'trap \"\" TERM HUP; exec -a {marker} sleep 600' &)"

    result = bwrap.run(make_request(workspace, ["bash", "-c", script]))

    assert result.exit_code == 0
    cmdlines = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmdlines.append(path.read_bytes())
        except OSError:
            continue
    assert not any(marker.encode() in cmdline for cmdline in cmdlines)


def test_a_missing_bwrap_names_the_package_to_install() -> None:
    reason = BwrapSandbox(bwrap="/nonexistent/bwrap").unavailable_reason()

    assert reason is not None and "apt-get install bubblewrap" in reason


@pytest.mark.parametrize(
    ("complaint", "blames_namespaces"),
    [
        ("bwrap: No permissions to creating new namespace", True),
        ("bwrap: setting up uid map: Permission denied", True),
        ("bwrap: Unable to remount /newroot/run/x: Invalid argument", False),
    ],
)
def test_a_failing_bwrap_is_explained_by_what_it_said(
    tmp_path: Path, complaint: str, blames_namespaces: bool
) -> None:
    broken = tmp_path / "bwrap"
    broken.write_text(f"#!/bin/sh\necho '{complaint}' >&2\nexit 1\n")
    broken.chmod(0o755)

    reason = BwrapSandbox(bwrap=str(broken)).unavailable_reason()

    assert reason is not None and complaint in reason
    assert ("user namespaces" in reason) == blames_namespaces


def test_the_probe_never_binds_the_whole_root(tmp_path: Path) -> None:
    # A recursive bind of / copies every mount under /run, another trial's vanishing
    # network namespace included: the probe must bind only the system directories.
    log = tmp_path / "argv"
    recorder = tmp_path / "bwrap"
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\n')
    recorder.chmod(0o755)

    assert BwrapSandbox(bwrap=str(recorder)).unavailable_reason() is None
    argv = log.read_text().splitlines()
    bound = [argv[i + 1] for i, arg in enumerate(argv) if arg.endswith("bind")]
    assert "/" not in bound and "/usr" in bound and not any(p.startswith("/run") for p in bound)


def test_argv_exposes_exactly_the_trials_gpus_renumbered_from_zero(tmp_path: Path) -> None:
    # Measured on a 2-GPU host: with only /dev/nvidia1 bound, CUDA and nvidia-smi see one
    # GPU, as device 0; CUDA_VISIBLE_DEVICES=1 inside would leave it with none.
    layout = HostLayout(
        gpu_devices=tuple(
            Path(f"/dev/{name}") for name in ("nvidia0", "nvidia1", "nvidia2", "nvidiactl")
        )
    )
    request = dataclasses.replace(
        make_request(tmp_path, ["agent"], gpus=(1, 2)),
        env={**ENV, "CUDA_VISIBLE_DEVICES": "1,2"},
    )
    argv = build_bwrap_argv(request, layout)

    assert [source for source, _ in pairs(argv, "--dev-bind")] == [
        "/dev/nvidia1",
        "/dev/nvidia2",
        "/dev/nvidiactl",
    ]
    assert ("CUDA_VISIBLE_DEVICES", "0,1") in pairs(argv, "--setenv")
