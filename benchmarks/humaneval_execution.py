"""How fast does HumanEval scoring run generated code in the sandbox?

Runs every canonical solution of the packaged HumanEval through the same sandboxed
execution the scorer uses, with a few worker counts, and prints programs per second and
how many passed (all 164 should).

Run: HF_HUB_OFFLINE=1 /work/venv/bin/python benchmarks/humaneval_execution.py --workers 1 4 8
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from posttrainbench.benchmarks._execution import run_python
from posttrainbench.benchmarks.humaneval import TIMEOUT_S, humaneval_problems, program
from posttrainbench.sandbox import get_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--sandbox", default=None, help="bwrap | process (default: auto)")
    parser.add_argument("--limit", type=int, default=None, help="first N problems")
    args = parser.parse_args()

    problems = humaneval_problems()[: args.limit]
    programs = [program(p.prompt, p.canonical_solution, p.test, p.entry_point) for p in problems]
    print(f"sandbox: {get_sandbox(args.sandbox).name}; {len(programs)} programs")
    print(f"{'workers':>8} {'seconds':>9} {'programs/s':>11} {'passed':>7}")
    for workers in args.workers:
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            results = list(
                pool.map(lambda code: run_python(code, TIMEOUT_S, sandbox=args.sandbox), programs)
            )
        seconds = time.perf_counter() - started
        passed = sum(result.passed for result in results)
        print(f"{workers:>8} {seconds:>9.1f} {len(programs) / seconds:>11.1f} {passed:>7}")


if __name__ == "__main__":
    main()
