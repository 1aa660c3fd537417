"""The final evaluation, run by the harness in a process of its own.

``python -m posttrainbench.evaluation.final --model-dir M --benchmark B --family F --out DIR``
writes ``DIR/metrics.json`` on success, or ``DIR/error.json`` and exits with
:data:`EXIT_MODEL_UNUSABLE` when the model cannot be evaluated. It never reads the
agent's workspace except the model directory it is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from posttrainbench._fileio import atomic_write_text
from posttrainbench._hf_quiet import quiet_transformers
from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily
from posttrainbench.errors import UserError
from posttrainbench.evaluation.engine import EvaluationError, evaluate_model

__all__ = ["EXIT_MODEL_UNUSABLE", "main"]

EXIT_MODEL_UNUSABLE = 3
"""Exit status meaning: the submitted model does not load or produces no score."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--family", required=True, choices=[f.value for f in ModelFamily])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=-1, help="-1: the full test split")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument(
        "--few-shot", type=int, default=0, help="examples from allowed data before each question"
    )
    parser.add_argument(
        "--base-dir",
        type=Path,
        default=None,
        help="the base model: evaluation uses its tokenizer and generation config",
    )
    parser.add_argument("--protocol", default="paper", choices=["paper", "greedy"])
    parser.add_argument(
        "--provider",
        default=None,
        choices=["auto", "hf", "vllm", "openai"],
        help="generation backend (default: PTB_EVAL_PROVIDER, else auto)",
    )
    return parser


def _without_installed_extensions() -> None:
    """Keep inspect from importing every installed inspect extension before the evaluation.

    To find hooks, inspect loads all ``inspect_ai`` entry points; inspect_evals' entry point
    imports each of its ~100 evaluations (agent benchmarks, web servers): about 3 s of CPU
    per evaluation process, for nothing the harness uses. The pristine evaluation runs with
    the harness's own hook only. Its tasks, scorers and providers are imported, never looked
    up by an extension's registry name (which would no longer resolve here).
    """
    from inspect_ai._util import entrypoints

    entrypoints._inspect_ai_eps_loaded_all = True


def main(argv: list[str] | None = None) -> int:
    """Run one evaluation attempt; see the module docstring for the contract."""
    from posttrainbench.evaluation.progress import register_progress

    _without_installed_extensions()
    register_progress()
    quiet_transformers()
    args = _parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        metrics = evaluate_model(
            args.model_dir,
            get_benchmark(args.benchmark),
            ModelFamily(args.family),
            log_dir=args.out / "logs",
            limit=None if args.limit < 0 else args.limit,
            max_tokens=args.max_tokens,
            provider=args.provider,
            few_shot=args.few_shot,
            base_dir=args.base_dir,
            protocol=args.protocol,
        )
    except UserError as error:
        # The harness is misconfigured (e.g. no judge key): not the model's fault.
        print(f"evaluation not possible: {error}", file=sys.stderr)
        return 2
    except EvaluationError as error:
        atomic_write_text(args.out / "error.json", json.dumps({"error": str(error)}, indent=2))
        print(f"evaluation failed: {error}", file=sys.stderr)
        return EXIT_MODEL_UNUSABLE
    atomic_write_text(args.out / "metrics.json", metrics.model_dump_json(indent=2))
    print(f"{args.benchmark}: accuracy {metrics.accuracy:.4f} on {metrics.n} items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
