"""Resource limits, the unprivileged agent and the closed kernel surface, in bwrap."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from posttrainbench.sandbox import BwrapSandbox, Mount, SandboxRequest
from posttrainbench.sandbox.identity import AGENT_UID
from posttrainbench.sandbox.limits import Limits, limit_mechanism

MIB = 1 << 20


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


def run(
    workspace: Path, code: str, limits: Limits | None = None, shown: tuple[Path, ...] = ()
) -> tuple[Any, str]:
    output = workspace.parent / "out.jsonl"
    request = SandboxRequest(
        argv=[sys.executable, "-c", code],
        cwd=workspace,
        env={"PATH": "/usr/bin:/bin"},
        time_limit_s=60,
        output_path=output,
        mounts=[Mount(workspace, writable=True), *map(Mount, shown)],
        limits=limits,
    )
    result = BwrapSandbox().run(request)
    return result, output.read_text() if output.exists() else ""


def limits(workspace: Path, memory: int = 512 * MIB, processes: int = 64, disk: int = 64 * MIB):
    return Limits(memory, processes, disk, (workspace,))


def test_memory_over_the_limit_ends_the_tree_and_records_the_peak(workspace: Path) -> None:
    bomb = "h = []\nwhile True: h.append(bytearray(16 << 20))"
    result, _ = run(workspace, bomb, limits(workspace, memory=256 * MIB))

    assert result.limit_exceeded is not None and result.limit_exceeded.startswith("memory")
    assert result.exit_code is None
    assert result.peaks["memory_bytes"] >= 200 * MIB


def test_a_fork_bomb_ends_at_the_process_limit(workspace: Path) -> None:
    bomb = "import os, time\nwhile True:\n    if os.fork() == 0: time.sleep(60)"
    result, _ = run(workspace, bomb, limits(workspace, processes=32))

    assert result.limit_exceeded is not None and result.limit_exceeded.startswith("processes")
    assert result.exit_code is None and result.peaks["processes"] <= 32


def test_disk_written_over_the_limit_ends_the_tree(workspace: Path) -> None:
    fill = "import time\nfor i in range(64):\n    open(f'f{i}', 'wb').write(b'x' * (1 << 20))\n"
    fill += "time.sleep(30)"
    result, _ = run(workspace, fill, limits(workspace, disk=16 * MIB))

    assert result.limit_exceeded is not None and result.limit_exceeded.startswith("disk")
    assert result.peaks["disk_bytes"] > 16 * MIB


def test_one_file_cannot_outgrow_the_disk_limit_even_sparse(workspace: Path) -> None:
    sparse = "import os\ntry:\n    open('big', 'wb').truncate(1 << 40)\n"
    sparse += "except OSError as e:\n    print(os.strerror(e.errno))"
    result, output = run(workspace, sparse, limits(workspace))

    assert "File too large" in output
    assert not (workspace / "big").exists() or (workspace / "big").stat().st_size == 0


def test_the_agent_is_unprivileged_and_kernel_knobs_are_read_only(workspace: Path) -> None:
    before = Path("/proc/sys/vm/swappiness").read_text()
    model = workspace.parent / "model"
    model.mkdir(mode=0o700)
    (model / "weights.bin").write_bytes(b"w")
    (model / "weights.bin").chmod(0o600)  # as a private temporary file leaves it
    probe = (
        f"print('model', open('{model}/weights.bin').read())"
        + """
import ctypes, os
print("uid", os.getuid(), os.getgid(), os.getgroups())
for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/swappiness"):
    value = open(path).read()
    try:
        open(path, "w").write(value)
        print("WROTE", path)
    except OSError as e:
        print("refused", path, e.strerror)
try:
    open("/etc/shadow").read()
    print("READ shadow")
except OSError as e:
    print("shadow", e.strerror)
libc = ctypes.CDLL(None, use_errno=True)
print("ptrace", libc.ptrace(16, 1, 0, 0), os.strerror(ctypes.get_errno()))
print("etc", sorted(os.listdir("/etc")))
"""
    )
    result, output = run(workspace, probe, shown=(model,))

    assert "model w" in output
    assert f"uid {AGENT_UID} {AGENT_UID} []" in output
    assert "WROTE" not in output and output.count("refused /proc/sys") == 2
    assert "READ shadow" not in output and "'shadow'" not in output
    assert "ptrace -1 Operation not permitted" in output
    assert "'passwd'" in output and "'sudoers'" not in output
    assert Path("/proc/sys/vm/swappiness").read_text() == before
    assert (workspace.stat().st_uid, result.exit_code) == (AGENT_UID, 0)


HARNESS = """
import sys
from pathlib import Path
from posttrainbench.sandbox import ProcessSandbox, SandboxRequest
from posttrainbench.sandbox.limits import Limits
work = Path(sys.argv[1])
daemon = "import os, time; os.setsid(); open('daemon.pid', 'w').write(str(os.getpid()))"
daemon += "; time.sleep(300)"
request = SandboxRequest(
    argv=["sh", "-c", f"{sys.executable} -c \\"{daemon}\\" & sleep 300"],
    cwd=work, env={"PATH": "/usr/bin:/bin"}, time_limit_s=300,
    output_path=work / "out.jsonl", limits=Limits(1 << 30, 64, 1 << 30, (work,)),
)
ProcessSandbox().run(request)
"""


def test_no_agent_process_outlives_a_killed_harness(workspace: Path) -> None:
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(workspace)])
    pid_file = workspace / "daemon.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and harness.poll() is None
        time.sleep(0.1)
    daemon = int(pid_file.read_text())

    harness.send_signal(signal.SIGKILL)
    harness.wait()

    deadline = time.monotonic() + 20
    while Path(f"/proc/{daemon}").exists() and _state(daemon) != "Z":
        assert time.monotonic() < deadline, f"agent daemon {daemon} survived the harness"
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat[stat.rindex(")") + 2]


def test_the_mechanism_is_stated() -> None:
    assert limit_mechanism() in {"cgroup v2", "cgroup v1", "rlimits"}


def test_unset_limits_come_from_the_machine_and_set_ones_are_kept(tmp_path: Path) -> None:
    from posttrainbench.sandbox.limits import LimitSettings, default_limits

    derived = default_limits(None, (tmp_path,))
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert derived.memory_bytes == int(ram * 0.8) and derived.processes == 4096
    assert 0 < derived.disk_bytes <= shutil.disk_usage(tmp_path).free

    chosen = default_limits(LimitSettings(memory_gb=2, processes=99, disk_gb=3), (tmp_path,))
    assert (chosen.memory_bytes, chosen.processes, chosen.disk_bytes) == (2 << 30, 99, 3 << 30)
