"""The sandbox-level attacks of the corpus, as one real trial (the rest: benchmarks/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from posttrainbench.sandbox import BwrapSandbox
from posttrainbench.sandbox.network import network_tools
from posttrainbench.testing.sandbox_attacks import (
    ATTACKS,
    Attack,
    dns_tunnel_reported,
    finishes,
    no_privileged_files,
    run_attack,
)
from posttrainbench.trial.records import TrialRecord

KNOBS = ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/swappiness")


def _script(name: str) -> str:
    return next(a.command for a in ATTACKS if a.name == name)


def test_a_trial_agent_cannot_write_sysctls_read_shadow_ptrace_init_fork_or_kill_the_harness(
    tiny_model: Path, tmp_path: Path
) -> None:
    if BwrapSandbox().unavailable_reason() is not None:
        pytest.skip("bwrap cannot run here")
    before = {knob: Path(knob).read_text() for knob in KNOBS}
    steps = ("sysctl-write", "read-shadow", "ptrace-init", "zygote-request", "kill-harness")
    marker = tmp_path / "written-by-a-zygote"  # the fork request's log: only a zygote writes it
    attack = Attack(
        "sandbox-level", "kernel settings", "hardening",
        " ; ".join(_script(name) for name in steps), finishes(),
        prepare=lambda root: str(marker),
    )  # fmt: skip

    outcome = run_attack(attack, tiny_model, tmp_path, sandbox="bwrap", solve_only=True)

    evidence = outcome.evidence
    # The harness survived the agent's kill -1 and pkill: it recorded the solve phase's end
    # and went on to collect, where its failpoint stopped it.
    assert outcome.returncode == -9 and outcome.solve, outcome.harness_output[-2000:]
    for knob in KNOBS:
        assert f"write {knob} refused: Read-only file system" in evidence, evidence
        assert Path(knob).read_text() == before[knob]
    assert "/etc/shadow: No such file or directory" in evidence
    # No harness zygote's request pipe is within reach (the `process` backend fails this).
    assert any(line.startswith("pipes within reach:") for line in evidence), evidence
    assert not marker.exists()
    assert any(line.startswith("ptrace 1 refused") for line in evidence), evidence
    assert not [line for line in evidence if line.startswith(("WROTE", "READ ", "ATTACHED"))]
    trial = outcome.load(TrialRecord, outcome.paths.trial_json)
    assert trial is not None and trial.isolated


def test_a_trial_agent_cannot_use_dev_setid_files_or_a_dns_tunnel_unseen(
    tiny_model: Path, tmp_path: Path
) -> None:
    if BwrapSandbox().unavailable_reason() or network_tools().unavailable_reason():
        pytest.skip("bwrap or the agent network's tools cannot run here")
    steps = ("dev-tricks", "setuid-files", "dns-exfiltration")
    host_shm = Path("/dev/shm") / f"ptb-test-{os.getpid()}"
    host_shm.write_text("host shared memory")
    attack = Attack(
        "files-and-dns", "/dev tricks", "attacks",
        " ; ".join(_script(name) for name in steps), finishes(),
        prepare=lambda root: str(host_shm),
    )  # fmt: skip
    try:
        outcome = run_attack(
            attack, tiny_model, tmp_path, sandbox="bwrap", stop_at="evaluate.start"
        )
    finally:
        host_shm.unlink()

    evidence = outcome.evidence
    assert outcome.returncode == -9 and outcome.paths.audit.exists(), outcome.harness_output[-2000:]
    assert not [line for line in evidence if line.startswith(("WROTE", "READ ", "LINKED"))]
    # /dev: no kernel log, memory or disks; no device nodes; a private, writable /dev/shm.
    for refused in ("/dev/kmsg: No such file", "/dev/mem: No such file", "mknod: Operation not"):
        assert any(line.startswith(refused) for line in evidence), evidence
    assert "host /dev/shm file: No such file or directory" in evidence
    assert "shm probe written (private /dev/shm)" in evidence
    # Set-id files: only the agent's own in its workspace, none in the snapshot; no caps.
    assert any(line.startswith("set-id bits kept in") for line in evidence), evidence
    assert no_privileged_files(outcome) is None
    # The tunnel's queries left (DNS is open in `internet`), were logged and flagged.
    assert any(line.startswith("SENT") for line in evidence), evidence
    assert dns_tunnel_reported(outcome) is None
