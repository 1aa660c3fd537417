"""What do the paper protocol's five seeds cost? One session versus five evaluations.

Evaluates the tiny test model (CPU, ``hf`` provider) on ``arith-mini`` three ways and prints
seconds: one seed; five seeds in one session (one model load, the seeds' requests batched
together, as the final evaluation runs them); five separate one-seed evaluations (as
upstream's ``run_final_eval.sh`` runs them, one process and model load per seed is not even
counted here: the separate runs share this process).

Run: HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/eval_seeds.py --limit 8
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily
from posttrainbench.evaluation import evaluate_model
from posttrainbench.evaluation.protocol import FINAL_SEEDS
from posttrainbench.testing import build_tiny_model


def _timed(model: Path, out: Path, limit: int, seeds: tuple[int, ...], batch: int) -> float:
    start = time.perf_counter()
    evaluate_model(
        model,
        get_benchmark("arith-mini"),
        ModelFamily.QWEN3,
        log_dir=out,
        limit=limit,
        base_dir=model,
        seeds=seeds,
        batch_size=batch,
        provider="hf",
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, default=8, help="items per seed")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        model = build_tiny_model(root / "model", preset="test")
        _timed(model, root / "warmup", 2, FINAL_SEEDS[:1], args.batch_size)  # imports, caches
        one = _timed(model, root / "one", args.limit, FINAL_SEEDS[:1], args.batch_size)
        together = _timed(model, root / "five", args.limit, FINAL_SEEDS, args.batch_size)
        separate = sum(
            _timed(model, root / f"sep-{seed}", args.limit, (seed,), args.batch_size)
            for seed in FINAL_SEEDS
        )
    result = {
        "items_per_seed": args.limit,
        "one_seed_s": round(one, 2),
        "five_seeds_one_session_s": round(together, 2),
        "five_separate_evaluations_s": round(separate, 2),
        "session_vs_separate": round(separate / together, 2),
    }
    print(json.dumps(result, indent=2))
    print(f"{'setting':<32}{'seconds':>10}")
    print(f"{'1 seed':<32}{one:>10.2f}")
    print(f"{'5 seeds, one session':<32}{together:>10.2f}")
    print(f"{'5 separate evaluations':<32}{separate:>10.2f}")


if __name__ == "__main__":
    main()
