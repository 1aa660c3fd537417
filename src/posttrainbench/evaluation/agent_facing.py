"""What ``task/evaluate.py`` in the agent's workspace runs: a quick score on a subset.

The agent may call it as often as it likes; the final score never comes from here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily
from posttrainbench.errors import UserError
from posttrainbench.evaluation.engine import EvaluationError, evaluate_model

__all__ = ["main"]


def main(benchmark: str, family: str, argv: list[str] | None = None) -> int:
    """Parse ``--model-path`` and ``--limit``, evaluate, print the score."""
    bench = get_benchmark(benchmark)
    parser = argparse.ArgumentParser(
        prog="evaluate.py", description=f"Evaluate a model on {bench.title}."
    )
    parser.add_argument("--model-path", type=Path, required=True, help="model directory")
    parser.add_argument(
        "--limit",
        type=int,
        default=bench.default_limit if bench.default_limit is not None else -1,
        help=f"items to evaluate; -1 for all (default: {bench.default_limit or 'all'})",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ptb-eval-") as log_dir:
        try:
            metrics = evaluate_model(
                args.model_path.resolve(),
                bench,
                ModelFamily(family),
                log_dir=Path(log_dir),
                limit=None if args.limit < 0 else args.limit,
            )
        except EvaluationError as error:
            print(f"Evaluation failed: {error}", file=sys.stderr)
            return 1
        except UserError as error:
            print(f"Evaluation not possible: {error}", file=sys.stderr)
            return 2
    print(f"{bench.title}: accuracy {metrics.accuracy:.4f} (n={metrics.n})")
    return 0
