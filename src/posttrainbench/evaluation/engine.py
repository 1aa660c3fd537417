"""Evaluate a model directory on a benchmark with inspect-ai, with pinned sampling and template.

The score must depend on the weights and tokenizer only: the harness forces its own chat
template (chosen by the *base* model's family) and its own generation settings, so a
``generation_config.json`` or an edited chat template in the submission changes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from posttrainbench.benchmarks import Benchmark
from posttrainbench.catalog import ModelFamily, chat_template
from posttrainbench.evaluation.metrics import Metrics

__all__ = ["EvaluationError", "evaluate_model"]

# Tokens that end an assistant turn, per family (looked up in the submitted tokenizer).
_STOP_TOKENS: dict[ModelFamily, tuple[str, ...]] = {
    ModelFamily.QWEN3: ("<|im_end|>", "<|endoftext|>"),
    ModelFamily.SMOLLM3: ("<|im_end|>", "<|end_of_text|>"),
    ModelFamily.GEMMA3: ("<end_of_turn>", "<eos>"),
}


_MODEL_NAME = "hf/local"


class EvaluationError(Exception):
    """The model could not be evaluated (did not load, crashed, produced no score)."""


def _pinned_generation_config(model_dir: Path, family: ModelFamily, max_tokens: int) -> Any:
    from transformers import AutoTokenizer, GenerationConfig

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    except Exception as error:
        raise EvaluationError(f"tokenizer does not load: {error}") from error
    stop_ids = [
        tokenizer.convert_tokens_to_ids(token)
        for token in _STOP_TOKENS[family]
        if token in tokenizer.get_vocab()
    ]
    if not stop_ids:
        raise EvaluationError(f"tokenizer has none of the end tokens {_STOP_TOKENS[family]}")
    return GenerationConfig(
        do_sample=False,
        max_new_tokens=max_tokens,
        eos_token_id=stop_ids,
        pad_token_id=stop_ids[-1],
    )


def _device() -> str:
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def evaluate_model(
    model_dir: Path,
    benchmark: Benchmark,
    family: ModelFamily,
    *,
    log_dir: Path,
    limit: int | None = None,
    max_tokens: int | None = None,
    batch_size: int = 32,
) -> Metrics:
    """Score ``model_dir`` on ``benchmark`` (first ``limit`` items; all when None)."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelInfo, get_model, set_model_info

    if not (model_dir / "config.json").is_file():
        raise EvaluationError(f"{model_dir} has no config.json: not a model directory")
    tokens = max_tokens or benchmark.generation.max_tokens
    os.environ.setdefault("INSPECT_DISPLAY", "none")
    # Without registered info, inspect resolves "hf/local" by building a second provider,
    # which asks the hub for a model called "local" (minutes of retries offline).
    set_model_info(_MODEL_NAME, ModelInfo(organization="local", context_length=1 << 20))
    try:
        model = get_model(
            _MODEL_NAME,
            model_path=str(model_dir),
            device=_device(),
            chat_template=chat_template(family),
            do_sample=False,
            batch_size=batch_size,
            generation_config=_pinned_generation_config(model_dir, family, tokens),
            memoize=False,
        )
    except EvaluationError:
        raise
    except Exception as error:
        raise EvaluationError(f"model does not load: {type(error).__name__}: {error}") from error
    logs = inspect_eval(
        benchmark.task(limit),
        model=model,
        log_dir=str(log_dir),
        max_tokens=tokens,
        # Greedy decoding is pinned in the generation config; a temperature would only warn.
        temperature=benchmark.generation.temperature or None,
        display="none",
        max_connections=batch_size,
        fail_on_error=True,
    )
    return _metrics_from_log(logs[0], benchmark, tokens, log_dir)


def _metrics_from_log(log: Any, benchmark: Benchmark, tokens: int, log_dir: Path) -> Metrics:
    if log.status != "success" or not log.results or not log.results.scores:
        message = log.error.message if log.error else f"evaluation ended with {log.status}"
        raise EvaluationError(message)
    metrics = log.results.scores[0].metrics
    stderr = metrics.get("stderr")
    return Metrics(
        accuracy=float(metrics["accuracy"].value),
        stderr=float(stderr.value) if stderr is not None else None,
        n=int(log.results.completed_samples),
        benchmark=benchmark.id,
        max_tokens=tokens,
        log_file=os.path.relpath(log.location, log_dir) if log.location else None,
    )
