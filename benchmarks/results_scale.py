"""How fast are aggregation and site generation over 10,000 trial results?

Run: /work/venv/bin/python benchmarks/results_scale.py [--trials 10000] [--seed 0]
Fills a fresh SQLite store with synthetic results (agents x 4 base models x 7 benchmarks x
replicates, with some fallbacks and usage figures), then times: loading the results from
the store, aggregation (weights resolution + leaderboard with a 10,000-resample bootstrap
per agent), and writing the static site (index + one page per trial). Target: aggregation
<= 2 s.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from posttrainbench.results import (
    ResultStore,
    TrialResult,
    aggregate,
    build_site,
    published_weights,
    resolve_weights,
)

MODELS = (
    "Qwen/Qwen3-1.7B-Base",
    "Qwen/Qwen3-4B-Base",
    "HuggingFaceTB/SmolLM3-3B-Base",
    "google/gemma-3-4b-pt",
)


def synthetic(count: int, seed: int) -> list[TrialResult]:
    rng = random.Random(seed)
    benchmarks = sorted(published_weights())
    replicates = 3
    per_agent = len(MODELS) * len(benchmarks) * replicates
    agents = max(1, count // per_agent)
    results = []
    for index in range(count):
        agent, rest = divmod(index, per_agent)
        replicate, rest = divmod(rest, len(MODELS) * len(benchmarks))
        model, benchmark = divmod(rest, len(benchmarks))
        flagged = rng.random() < 0.03
        raw = rng.random()
        results.append(
            TrialResult(
                trial_id=f"t{index:06d}",
                experiment="scale",
                agent=f"agent{agent % agents:03d}",
                agent_config="",
                model=MODELS[model],
                benchmark=benchmarks[benchmark],
                hours=10.0,
                replicate=replicate + 1,
                score=0.05 if flagged else raw,
                raw_score=raw,
                base_score=0.05 if flagged else None,
                stderr=0.01,
                fallback_reason="audit verdict flagged" if flagged else None,
                audit_verdict="flagged" if flagged else "clean",
                solve_seconds=rng.uniform(1, 10) * 3600,
                solve_outcome="exited",
                harness_version="bench",
                finished_at="2026-01-01T00:00:00+00:00",
                prompt_tokens=rng.randrange(10**6),
                completion_tokens=rng.randrange(10**5),
                cost_usd=rng.uniform(1, 50) if rng.random() < 0.8 else None,
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(Path(tmp) / "index.sqlite")
        start = time.perf_counter()
        store.upsert_results(synthetic(args.trials, args.seed))
        fill_s = time.perf_counter() - start

        start = time.perf_counter()
        results = store.results()
        load_s = time.perf_counter() - start

        start = time.perf_counter()
        board = aggregate(results, resolve_weights(results))
        aggregate_s = time.perf_counter() - start

        start = time.perf_counter()
        pages = build_site(board, results, Path(tmp) / "site")
        site_s = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (Path(tmp) / "site").rglob("*.html"))

    print(f"trials                 {len(results):>8}")
    print(f"agents                 {len(board.entries):>8}")
    print(f"fill store             {fill_s:>8.2f} s")
    print(f"load from store        {load_s:>8.2f} s")
    print(f"aggregate              {aggregate_s:>8.2f} s   (target <= 2 s)")
    print(f"load + aggregate       {load_s + aggregate_s:>8.2f} s")
    print(f"site ({pages} pages)   {site_s:>8.2f} s   ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
