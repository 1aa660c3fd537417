"""The podman backend for real: a tiny image built here, and what the container can reach.

The image is a few host binaries (dash, coreutils) and their libraries, imported from a
tarball (no registry). Podman keeps it in a private store under the session's temporary
directory, with the options of an unprivileged host (vfs storage, cgroupfs, runc).
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from posttrainbench.sandbox import (
    NO_NETWORK,
    ContainerSettings,
    Mount,
    PodmanSandbox,
    SandboxRequest,
    network_tools,
)
from posttrainbench.sandbox.containers import host_ulimits
from posttrainbench.sandbox.network import INTERNET

pytestmark = pytest.mark.timeout(120)

_BINARIES = ("dash", "cat", "ls", "sleep", "env", "touch")
IMAGE = "localhost/ptb-podman-test:1"
ENV = {"PATH": "/bin", "HOME": "/tmp", "TRIAL_TOKEN": "visible-inside"}


def _libraries(binary: Path) -> set[Path]:
    listing = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True)
    return {Path(word) for word in listing.stdout.split() if word.startswith("/")}


def _rootfs_tar(destination: Path) -> Path:
    """A tarball of /bin/{sh,...} and the libraries they load, at their host paths."""
    binaries = [Path(found) for name in _BINARIES if (found := shutil.which(name))]
    if len(binaries) != len(_BINARIES):
        pytest.skip(f"the image needs {', '.join(_BINARIES)} on the host")
    tar_path = destination / "rootfs.tar"
    with tarfile.open(tar_path, "w") as tar:
        for directory in ("bin", "tmp", "proc", "sys", "dev", "etc"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        for binary in binaries:
            tar.add(binary.resolve(), arcname=f"bin/{binary.name}")
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "dash"
        tar.addfile(link)
        for library in set().union(*map(_libraries, binaries)):
            tar.add(library.resolve(), arcname=str(library).lstrip("/"))
    return tar_path


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerSettings]:
    """Podman settings with a private store holding the test image (skips without podman)."""
    if shutil.which("podman") is None or shutil.which("runc") is None:
        pytest.skip("podman and runc are not installed (scripts/install.sh --dev)")
    root = tmp_path_factory.mktemp("podman")
    engine_args = (
        *("--root", str(root / "storage"), "--runroot", str(root / "run")),
        *("--cgroup-manager=cgroupfs", "--storage-driver=vfs", "--runtime", "runc"),
        "--events-backend=file",
    )
    imported = subprocess.run(
        ["podman", *engine_args, "import", str(_rootfs_tar(root)), IMAGE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if imported.returncode != 0:
        pytest.skip(f"podman cannot import an image here: {imported.stderr.strip()}")
    settings = ContainerSettings(image=IMAGE, engine_args=engine_args, ulimits=host_ulimits())
    probe = subprocess.run(
        ["podman", *engine_args, "run", "--rm", "--network", "none"]
        + [arg for limit in settings.ulimits for arg in ("--ulimit", limit)]
        + [IMAGE, "/bin/sh", "-c", "true"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"podman cannot run a container here: {probe.stderr.strip()}")
    yield settings
    subprocess.run(
        ["podman", *engine_args, "system", "reset", "--force"],
        check=False,
        capture_output=True,
        timeout=120,
    )


def run(
    settings: ContainerSettings, workspace: Path, script: str, **options: object
) -> tuple[int | None, bool, list[str]]:
    """Run ``sh -c script`` in the container; (exit code, timed out, stdout lines)."""
    workspace.mkdir(parents=True, exist_ok=True)
    output = workspace.parent / f"{workspace.name}-stream.jsonl"
    defaults: dict[str, object] = {
        "argv": ["/bin/sh", "-c", script],
        "cwd": workspace,
        "env": ENV,
        "time_limit_s": 60.0,
        "output_path": output,
        "mounts": [Mount(workspace, writable=True)],
        "network": NO_NETWORK,
    }
    request = SandboxRequest(**{**defaults, **options})  # type: ignore[arg-type]
    result = PodmanSandbox(settings).run(request)
    records = (
        [json.loads(line) for line in output.read_text().splitlines()] if output.exists() else []
    )
    lines = [record["line"] for record in records if record["stream"] == "stdout"]
    return result.exit_code, result.timed_out, lines


def test_runs_the_command_and_captures_its_output(
    settings: ContainerSettings, tmp_path: Path
) -> None:
    code, timed_out, lines = run(
        settings, tmp_path / "ws", "echo hello from $TRIAL_TOKEN; pwd; exit 3"
    )

    assert (code, timed_out) == (3, False)
    assert lines == ["hello from visible-inside", str(tmp_path / "ws")]


def test_only_writable_mounts_can_be_written(settings: ContainerSettings, tmp_path: Path) -> None:
    workspace, model = tmp_path / "ws", tmp_path / "model"
    model.mkdir()
    (model / "weights").write_text("original")
    script = (
        f"for p in {workspace}/out {model}/weights {model}/new /bin/new; do "
        'if touch "$p" 2>/dev/null; then echo "$p written"; else echo "$p refused"; fi; done'
    )

    code, _, lines = run(
        settings, workspace, script, mounts=[Mount(workspace, writable=True), Mount(model)]
    )

    assert code == 0
    assert lines == [
        f"{workspace}/out written",
        f"{model}/weights refused",
        f"{model}/new refused",
        "/bin/new refused",
    ]
    assert (workspace / "out").exists()
    assert (model / "weights").read_text() == "original"
    assert [path.name for path in model.iterdir()] == ["weights"]


def test_host_paths_not_mounted_are_invisible(settings: ContainerSettings, tmp_path: Path) -> None:
    secret = tmp_path / "other-trial" / "answers.txt"
    secret.parent.mkdir()
    secret.write_text("the other trial's data")

    code, _, lines = run(
        settings,
        tmp_path / "ws",
        f"cat {secret} 2>/dev/null || echo unreadable; ls /; "
        "ls /usr /root /work 2>/dev/null || echo absent",
    )

    assert code == 0
    assert lines[0] == "unreadable"
    assert "the other trial's data" not in lines
    assert "absent" in lines
    assert not any(line in ("usr", "work", "root") for line in lines)


def test_no_network_without_network(settings: ContainerSettings, tmp_path: Path) -> None:
    code, _, lines = run(settings, tmp_path / "ws", "cat /proc/net/dev", network=NO_NETWORK)

    assert code == 0
    interfaces = [line.split(":")[0].strip() for line in lines if ":" in line]
    assert interfaces == ["lo"]


def test_internet_joins_the_agents_namespace(settings: ContainerSettings, tmp_path: Path) -> None:
    if reason := network_tools().unavailable_reason():
        pytest.skip(reason)
    egress = tmp_path / "egress.jsonl"
    script = "cat /proc/net/dev"
    code, _, lines = run(settings, tmp_path / "ws", script, network=INTERNET, egress_log=egress)

    assert code == 0
    interfaces = [line.split(":")[0].strip() for line in lines if ":" in line]
    assert sorted(interfaces) == ["lo", "tap0"]  # the stack's interface, not the host's


def test_time_limit_kills_the_tree_and_removes_the_container(
    settings: ContainerSettings, tmp_path: Path
) -> None:
    marker = str(random.randint(100_000, 999_999))
    script = f"sleep {marker} & sleep {marker} & echo started; wait"

    code, timed_out, lines = run(
        settings, tmp_path / "ws", script, time_limit_s=5.0, kill_grace_s=2.0
    )

    assert timed_out
    assert lines == ["started"]
    left = [
        pid.name
        for pid in Path("/proc").iterdir()
        if pid.name.isdigit() and _cmdline(pid) == ["sleep", marker]
    ]
    assert left == []
    containers = subprocess.run(
        ["podman", *settings.engine_args, "ps", "--all", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert containers.stdout.strip() == ""


def test_environment_is_the_requests_only(
    settings: ContainerSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_API_KEY", "sk-host-secret")

    code, _, lines = run(settings, tmp_path / "ws", "env")

    assert code == 0
    inside = dict(line.split("=", 1) for line in lines)
    assert {key: inside.get(key) for key in ENV} == ENV
    assert "sk-host-secret" not in "\n".join(lines)
    # Beyond the request: podman's defaults (HOSTNAME, container, TERM) and the shell's PWD.
    assert set(inside) - set(ENV) <= {"HOSTNAME", "container", "PWD", "TERM"}


def _cmdline(pid: Path) -> list[str]:
    try:
        return (pid / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def test_ulimits_come_from_the_environment_or_fit_the_host(tmp_path: Path) -> None:
    configured = ContainerSettings.from_environment(
        {"PTB_CONTAINER_ULIMITS": "nofile=1024:2048 nproc=512:512"}
    )
    assert configured.ulimits == ("nofile=1024:2048", "nproc=512:512")

    pid_max = tmp_path / "pid_max"
    pid_max.write_text("4096\n")
    nofile, nproc = (int(value.split(":")[1]) for value in host_ulimits(pid_max))
    hard_nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    assert nproc == (4096 if hard_nproc == resource.RLIM_INFINITY else min(4096, hard_nproc))
    hard_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert nofile == (65536 if hard_nofile == resource.RLIM_INFINITY else min(65536, hard_nofile))
    assert ContainerSettings.from_environment({}).ulimits == host_ulimits()
