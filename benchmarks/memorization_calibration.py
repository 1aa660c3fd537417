"""Calibrate the memorization test on honest and cheating tiny-model runs (arith, CPU).

Each scenario of ``posttrainbench.testing.memorization_scenarios`` fine-tunes the tiny base
model (honest: allowed data in several shapes, a precision change; cheats: test items in,
diluted or disguised), then the audit's memorization test compares it with the base on the
test items of arith-mini (24; ``--benchmark arith`` for 200) and their twins (as many per
item as the default budget gives: 8 for 24 items). Printed: one row per scenario with the
mean gap (nats/token), the p-value and whether the default thresholds flag it, plus the CPU
time of the test; the same as JSON in ``benchmarks/results/``.

    python benchmarks/memorization_calibration.py [--steps 60] [--seeds 2] [--preset test]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from posttrainbench.audit.memorization import (  # noqa: E402 - offline first
    MemorizationSettings,
    memorization_findings,
    twin_sets,
)
from posttrainbench.benchmarks import get_benchmark  # noqa: E402
from posttrainbench.testing import build_tiny_model  # noqa: E402
from posttrainbench.testing.memorization_scenarios import (  # noqa: E402
    SCENARIOS,
    build_submission,
)

RESULTS = Path(__file__).parent / "results" / "memorization_calibration.json"


def main() -> None:
    """Run every scenario for each seed and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps per scenario")
    parser.add_argument("--seeds", type=int, default=1, help="base models (init seeds)")
    parser.add_argument("--benchmark", default="arith-mini")
    parser.add_argument("--preset", default="test", choices=["test", "demo"])
    args = parser.parse_args()
    import torch

    # The dev hosts are shared and small: one thread is faster than two fighting for cores.
    torch.set_num_threads(1)
    settings = MemorizationSettings(device="cpu")
    benchmark = get_benchmark(args.benchmark)
    test = benchmark.test_items()
    pairs, *more = twin_sets(benchmark, settings.seed, settings)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ptb-memo-") as scratch:
        for seed in range(args.seeds):
            base = build_tiny_model(Path(scratch) / f"base{seed}", seed=seed, preset=args.preset)
            for index, scenario in enumerate(SCENARIOS):
                started = time.perf_counter()
                out = Path(scratch) / f"s{seed}-{index}"
                build_submission(scenario, test, base, out, steps=args.steps)
                trained = time.perf_counter() - started
                started = time.perf_counter()
                findings, result = memorization_findings(
                    base, out, pairs, settings, more_twins=more
                )
                rows.append(
                    {
                        "scenario": scenario.name,
                        "seed": seed,
                        "cheat": scenario.cheat,
                        "effect": round(result.effect, 4),
                        "standardized": round(result.standardized, 3),
                        "p_value": result.p_value,
                        "flagged": any(f.severity == "flag" for f in findings),
                        "train_s": round(trained, 1),
                        "test_s": round(time.perf_counter() - started, 2),
                    }
                )
                _print_row(rows[-1])
    _summary(rows, settings, args, len(pairs))


def _print_row(row: dict[str, object]) -> None:
    mark = "FLAG" if row["flagged"] else "-"
    print(
        f"{row['scenario']:<55} seed {row['seed']}  gap {row['effect']:+8.4f}  "
        f"d_z {row['standardized']:+7.2f}  p {row['p_value']:<9.2g} {mark:<5} "
        f"test {row['test_s']:.1f}s",
        flush=True,
    )


def _summary(
    rows: list[dict[str, object]], settings: MemorizationSettings, args: object, n: int
) -> None:
    honest = [row for row in rows if not row["cheat"]]
    cheats = [row for row in rows if row["cheat"]]
    false_positives = sum(bool(row["flagged"]) for row in honest)
    caught = sum(bool(row["flagged"]) for row in cheats)
    max_honest = max(float(str(row["effect"])) for row in honest)
    min_cheat = min(float(str(row["effect"])) for row in cheats)
    print(
        f"\nitems {n}; alpha {settings.alpha}, min_effect {settings.min_effect}: "
        f"false positives {false_positives}/{len(honest)}, cheats caught {caught}/{len(cheats)}; "
        f"largest honest gap {max_honest:+.4f}, smallest cheat gap {min_cheat:+.4f}; "
        f"mean test time {sum(float(str(r['test_s'])) for r in rows) / len(rows):.1f} s (CPU)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "command": "python benchmarks/memorization_calibration.py "
                + " ".join(f"--{k} {v}" for k, v in vars(args).items()),
                "host": {"machine": platform.machine(), "cpus": os.cpu_count()},
                "settings": settings.model_dump(),
                "items": n,
                "twins_per_item": settings.twins_per_item(n),
                "false_positives": false_positives,
                "honest_runs": len(honest),
                "cheats_caught": caught,
                "cheat_runs": len(cheats),
                "rows": rows,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
