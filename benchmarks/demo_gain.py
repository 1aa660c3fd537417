"""Does the CPU demo show a real gain? Build, evaluate, train, evaluate, for a few seeds.

Run: HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/demo_gain.py --seeds 0 1 2
``--demo-data --base-seed 0`` trains what ``ptb demo`` trains (its base model, its reference
agent's records) and varies only the recipe's seed: how much the demo's result depends on
the seed, and so on the numerics of another machine.
Training runs as the reference agent does in ``ptb demo`` (a subprocess of the recipe CLI,
``DEMO_STEPS`` steps, the demo's time budget as its deadline), so its wall time includes
importing torch and TRL.

``--slowdown`` runs everything pinned to one CPU core with ``--busy`` competing busy-loop
processes on the same core (2 by default: a third of one core, about six times slower than
an idle 2-core machine): the demo's result must hold there too, because its budget is a cap,
not a target. ``/proc/loadavg`` is printed before and after, as other work shares the host.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from posttrainbench.agents.builtin import ReferenceAgent  # noqa: E402
from posttrainbench.benchmarks.arith import Arith  # noqa: E402
from posttrainbench.demo import DEMO_HOURS, DEMO_LR, DEMO_STEPS  # noqa: E402
from posttrainbench.testing import build_tiny_model  # noqa: E402


@dataclass(frozen=True)
class Run:
    seed: int
    build_s: float
    train_s: float
    base_eval_s: float
    trained_eval_s: float
    base_accuracy: float
    trained_accuracy: float
    cut_short: str | None
    """What the recipe wrote when the budget stopped it before its steps (None: all done)."""


def evaluate(model_dir: Path, log_dir: Path) -> tuple[float, float]:
    """Accuracy on the full test split and the wall time it took."""
    from inspect_ai import eval as inspect_eval

    bench = Arith()
    start = time.perf_counter()
    logs = inspect_eval(
        bench.task(),
        model="hf/local",
        model_args={
            "model_path": str(model_dir),
            "device": "cpu",
            "do_sample": False,
            "batch_size": 32,
        },
        max_tokens=bench.generation.max_tokens,
        temperature=0.0,
        max_connections=32,
        display="none",
        log_dir=str(log_dir),
    )
    elapsed = time.perf_counter() - start
    scores = logs[0].results.scores[0].metrics if logs[0].results else {}
    return float(scores["accuracy"].value), elapsed


def train(base: Path, out: Path, args: argparse.Namespace, seed: int) -> tuple[float, str | None]:
    """Run the recipe CLI with a deadline ``args.budget`` seconds away; wall seconds, cut short."""
    start = time.time()
    note = out.with_name(out.name + ".cut-short")
    argv = [
        sys.executable, "-m", "posttrainbench.agents.sft_recipe",
        "--base-model", str(base), "--benchmark", "arith", "--output-dir", str(out),
        "--deadline", f"{start + args.budget:.0f}", "--seed", str(seed),
        "--cut-short-file", str(note),
    ]  # fmt: skip
    for flag in ("steps", "train_size", "batch_size", "lr"):
        if getattr(args, flag) is not None:  # else the recipe's defaults
            argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    if args.demo_data:
        argv += ["--data", str(demo_data(out.parent))]
    subprocess.run(argv, check=True)
    return time.time() - start, note.read_text().strip() if note.exists() else None


def demo_data(root: Path) -> Path:
    """The records the demo's reference agent trains on (``ReferenceAgent``), written once."""
    from posttrainbench.agents._reference_data import reference_records, write_records

    path = root / "demo-train.jsonl"
    if not path.exists():
        write_records(reference_records(Arith(), ReferenceAgent().train_size).records, path)
    return path


def one_seed(seed: int, args: argparse.Namespace, root: Path) -> Run:
    start = time.perf_counter()
    base_seed = seed if args.base_seed is None else args.base_seed
    base = build_tiny_model(root / f"base-{base_seed}", seed=base_seed, preset=args.preset)
    build_s = time.perf_counter() - start
    base_acc, base_eval_s = evaluate(base, root / "logs")
    trained = root / f"trained-{seed}"
    train_s, cut_short = train(base, trained, args, seed)
    trained_acc, trained_eval_s = evaluate(trained, root / "logs")
    return Run(
        seed, build_s, train_s, base_eval_s, trained_eval_s, base_acc, trained_acc, cut_short
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--preset", choices=["demo", "test"], default="demo")
    parser.add_argument(
        "--budget", type=float, default=DEMO_HOURS * 3600, help="training wall seconds (cap)"
    )
    parser.add_argument("--steps", type=int, default=DEMO_STEPS)
    parser.add_argument("--slowdown", action="store_true", help="one core, shared with --busy")
    parser.add_argument("--busy", type=int, default=2, help="busy processes with --slowdown")
    parser.add_argument("--train-size", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, default=DEMO_LR)
    parser.add_argument(
        "--demo-data", action="store_true", help="train on the demo's reference-agent records"
    )
    parser.add_argument(
        "--base-seed", type=int, help="one base model for every seed (the demo's: 0)"
    )
    args = parser.parse_args()
    load_before = Path("/proc/loadavg").read_text().strip()
    busy = slow_down(args.busy) if args.slowdown else []
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="ptb-demo-gain-") as tmp:
            for seed in args.seeds:
                run = one_seed(seed, args, Path(tmp))
                runs.append(run)
                print(
                    f"seed {run.seed}: build {run.build_s:.1f}s  train {run.train_s:.1f}s  "
                    f"eval {run.base_eval_s:.1f}s/{run.trained_eval_s:.1f}s  "
                    f"base {run.base_accuracy:.3f}  trained {run.trained_accuracy:.3f}",
                    flush=True,
                )
    finally:
        for process in busy:
            process.kill()
            process.wait()
    gains = [run.trained_accuracy - run.base_accuracy for run in runs]
    report = {
        "settings": vars(args),
        "loadavg_before": load_before,
        "loadavg_after": Path("/proc/loadavg").read_text().strip(),
        "cpus": sorted(os.sched_getaffinity(0)),
        "runs": [asdict(run) for run in runs],
        "mean_gain": sum(gains) / len(gains),
        "min_trained": min(run.trained_accuracy for run in runs),
    }
    print(json.dumps(report, indent=2))
    print(f"mean gain {report['mean_gain']:+.3f}  min trained {report['min_trained']:.3f}")


def slow_down(busy: int) -> list[subprocess.Popen[bytes]]:
    """Pin this process (and so its children) to one core, with ``busy`` spinners on it."""
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    spin = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(busy)]


if __name__ == "__main__":
    main()
