"""A trial's processes forked from the harness zygote vs a worker started cold.

Run: python benchmarks/worker_start.py [--trials 2]

Each trial is a ``noop`` agent on the tiny model and ``arith-mini`` (audit, evaluation and
the base model's score included), in a fresh runs folder. Two ways, alternated, in this
process:

- ``forked``: ``ptb run --agent noop``; the queue's harness zygote imports the ML stack
  once, the worker is forked from it and forks its own evaluation zygote from itself;
- ``cold``: the worker as a fresh interpreter (``python -m posttrainbench.executors._worker``,
  what a SLURM job runs): it imports the ML stack itself, then forks its evaluation zygote
  from itself.

Figures are wall seconds and the CPU seconds the whole machine spent meanwhile (from
``/proc/stat``: a zygote that its parent never waits for counts too, which
``RUSAGE_CHILDREN`` misses), so run it on an otherwise idle machine; and the ratio cold /
forked of the CPU means.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from posttrainbench.testing import build_tiny_model
from posttrainbench.trial import TrialSpec


def _cpu() -> float:
    """Busy CPU seconds of the whole machine since boot (all but idle and iowait)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _timed(argv: list[str]) -> tuple[float, float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cpu, wall = _cpu(), time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - wall, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2, help="trials each way")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ptb-worker-start-") as scratch:
        root = Path(scratch)
        model = build_tiny_model(root / "tiny", seed=0, preset="test")
        spec = TrialSpec(agent="noop", model=str(model), benchmark="arith-mini", hours=0.05)
        figures: dict[str, list[tuple[float, float]]] = {"forked": [], "cold": []}
        for index in range(args.trials):
            runs = root / f"forked-{index}"
            ptb = [sys.executable, "-m", "posttrainbench.cli", "run", "--agent", "noop"]
            ptb += ["--model", str(model), "--benchmark", "arith-mini", "--hours", "0.05"]
            figures["forked"].append(_timed([*ptb, "--runs-dir", str(runs)]))
            worker = [sys.executable, "-m", "posttrainbench.executors._worker"]
            runs = root / f"cold-{index}"
            figures["cold"].append(_timed([*worker, str(runs), spec.model_dump_json()]))
        means = {
            way: {
                "wall_s": round(sum(w for w, _ in runs) / len(runs), 2),
                "cpu_s": round(sum(c for _, c in runs) / len(runs), 2),
            }
            for way, runs in figures.items()
        }
        ratio = round(means["cold"]["cpu_s"] / means["forked"]["cpu_s"], 2)
        print(json.dumps({"trials": args.trials, **means, "cpu_ratio_cold_to_forked": ratio}))


if __name__ == "__main__":
    main()
