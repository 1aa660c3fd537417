"""A one-node SLURM cluster on loopback for tests: munged, slurmctld and slurmd as root.

Everything lives in one temporary directory (config, munge key and socket, state, logs);
the daemons are stopped by PID. Job accounting is off (no slurmdbd), so ``sacct`` does not
work here: the executor under test must not depend on it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")


@dataclass(frozen=True)
class SlurmCluster:
    root: Path
    conf: Path
    node: str

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}


def unavailable_reason() -> str | None:
    missing = [name for name in (*DAEMONS, "sbatch", "squeue", "scancel") if not shutil.which(name)]
    if missing:
        return f"slurm is not installed (missing {', '.join(missing)}; scripts/install.sh --dev)"
    if os.geteuid() != 0:
        return "the loopback slurm cluster needs root (slurmd runs jobs as their user)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_config(root: Path, node: str) -> Path:
    munge_socket = root / "munge" / "munge.socket.2"
    memory_mb = max(1024, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 // 2)
    cpus = os.cpu_count() or 1
    lines = [
        "ClusterName=ptbtest",
        f"SlurmctldHost={node}(127.0.0.1)",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"SlurmctldPort={_free_port()}",
        f"SlurmdPort={_free_port()}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={munge_socket}",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        "SchedulerType=sched/builtin",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "DefMemPerCPU=256",  # without it one job takes the node's whole memory
        "GresTypes=gpu",  # an empty GresTypes= is fatal
        "ReturnToService=2",
        "MinJobAge=600",
        "SchedulerParameters=sched_interval=1",
        f"NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} Gres=gpu:1 "
        "State=UNKNOWN",
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
    ]
    conf = root / "slurm.conf"
    conf.write_text("\n".join(lines) + "\n")
    (root / "gres.conf").write_text(f"NodeName={node} Name=gpu File=/dev/null\n")
    (root / "cgroup.conf").write_text("CgroupPlugin=autodetect\nIgnoreSystemd=yes\n")
    return conf


def _start_munge(root: Path) -> None:
    munge = root / "munge"
    munge.mkdir(mode=0o700)
    key = munge / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    subprocess.run(
        [
            "munged",
            "--force",
            f"--key-file={key}",
            f"--socket={munge / 'munge.socket.2'}",
            f"--pid-file={munge / 'munged.pid'}",
            f"--log-file={munge / 'munged.log'}",
            f"--seed-file={munge / 'munged.seed'}",
        ],
        check=True,
        timeout=30,
    )


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _stop(pid_files: list[Path]) -> None:
    pids = [pid for pid in map(_pid, pid_files) if pid]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 20
    for pid in pids:
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.2)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)


def _wait_for_idle_node(cluster: SlurmCluster, timeout_s: float = 60) -> str | None:
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        completed = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%T"],
            env={**os.environ, **cluster.env},
            capture_output=True,
            text=True,
            timeout=30,
        )
        state = completed.stdout.strip() or completed.stderr.strip()
        if state == "idle":
            return None
        time.sleep(0.5)
    return f"the node did not become idle (last state: {state!r})"


@contextmanager
def loopback_slurm(root: Path) -> Iterator[SlurmCluster]:
    """Start a one-node cluster under ``root``; raise RuntimeError with the logs if it can't."""
    node = socket.gethostname().split(".")[0]
    for sub in ("state", "spool"):
        (root / sub).mkdir(parents=True)
    conf = _write_config(root, node)
    cluster = SlurmCluster(root, conf, node)
    env = {**os.environ, **cluster.env}
    pid_files = [root / "slurmd.pid", root / "slurmctld.pid", root / "munge" / "munged.pid"]
    try:
        _start_munge(root)
        subprocess.run(["slurmctld", "-c", "-f", str(conf)], env=env, check=True, timeout=60)
        subprocess.run(["slurmd", "-f", str(conf), "-N", node], env=env, check=True, timeout=60)
        problem = _wait_for_idle_node(cluster)
        if problem:
            logs = "\n".join(
                f"--- {name}\n{(root / name).read_text()[-2000:]}"
                for name in ("slurmctld.log", "slurmd.log")
                if (root / name).exists()
            )
            raise RuntimeError(f"{problem}\n{logs}")
        yield cluster
    finally:
        _stop(pid_files)
