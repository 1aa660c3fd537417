"""The sandbox-level attacks of the corpus, as one real trial (the rest: benchmarks/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.sandbox import BwrapSandbox
from posttrainbench.testing.sandbox_attacks import ATTACKS, Attack, finishes, run_attack
from posttrainbench.trial.records import TrialRecord

KNOBS = ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/swappiness")


def _script(name: str) -> str:
    return next(a.command for a in ATTACKS if a.name == name)


def test_a_trial_agent_cannot_write_sysctls_read_shadow_ptrace_init_or_kill_the_harness(
    tiny_model: Path, tmp_path: Path
) -> None:
    if BwrapSandbox().unavailable_reason() is not None:
        pytest.skip("bwrap cannot run here")
    before = {knob: Path(knob).read_text() for knob in KNOBS}
    steps = ("sysctl-write", "read-shadow", "ptrace-init", "kill-harness")
    attack = Attack(
        "sandbox-level", "kernel settings", "hardening",
        " ; ".join(_script(name) for name in steps), finishes(),
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
    assert any(line.startswith("ptrace 1 refused") for line in evidence), evidence
    assert not [line for line in evidence if line.startswith(("WROTE", "READ ", "ATTACHED"))]
    trial = outcome.load(TrialRecord, outcome.paths.trial_json)
    assert trial is not None and trial.isolated
