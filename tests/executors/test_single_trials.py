"""``ptb run --agent ...`` runs its trials in the local executor's queue.

That a trial runs there, shows its phases and is never run twice is checked on the real
trial of ``tests/test_cli.py``; a user error inside its worker, on the second run of
``test_run_dir_from_another_format_version``.
"""

from __future__ import annotations

from pathlib import Path

from executor_helpers import ptb


def test_a_trial_waits_for_a_gpu_slot_of_this_host(tiny_model: Path, tmp_path: Path) -> None:
    argv = ["run", "--agent", "noop", "--model", str(tiny_model), "--benchmark", "arith-mini"]
    argv += ["--hours", "0.05", "--runs-dir", str(tmp_path / "runs"), "--gpus", "1"]
    completed = ptb(*argv, env={"CUDA_VISIBLE_DEVICES": ""})
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "need 1 GPU(s) each but this host offers 0" in " ".join(completed.stderr.split())
    assert "Traceback" not in completed.stderr
