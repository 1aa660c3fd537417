"""Evaluate a model directory on a benchmark with inspect-ai, with pinned sampling and template.

The score must depend on the weights and tokenizer only: the harness forces its own chat
template (chosen by the *base* model's family) and its own generation settings, so a
``generation_config.json`` or an edited chat template in the submission changes nothing.
Generation runs on one of the providers of :mod:`posttrainbench.evaluation.providers`;
judge-scored benchmarks get an :class:`~posttrainbench.judge.OpenAIJudge`
whose key is checked before any model is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from posttrainbench._model_files import UnloadableModel, check_loadable
from posttrainbench.benchmarks import Benchmark, Judge
from posttrainbench.catalog import ModelFamily, chat_template
from posttrainbench.errors import UserError
from posttrainbench.evaluation.metrics import Metrics
from posttrainbench.evaluation.model_view import TokenizerUse, build_model_view
from posttrainbench.evaluation.protocol import (
    GREEDY,
    Protocol,
    Sampling,
    base_sampling,
    seed_scores,
    seeded_task,
    seeds_for,
)
from posttrainbench.evaluation.providers import Endpoint, Provider, select_provider
from posttrainbench.evaluation.vllm_server import VllmServer, VllmServerError, VllmSettings
from posttrainbench.judge import OpenAIJudge

__all__ = [
    "EvaluationError",
    "evaluate_model",
    "hf_chat_template",
    "hf_decode_settings",
    "stop_token_ids",
]

# Tokens that end an assistant turn, per family (looked up in the submitted tokenizer).
_STOP_TOKENS: dict[ModelFamily, tuple[str, ...]] = {
    ModelFamily.QWEN3: ("<|im_end|>", "<|endoftext|>"),
    ModelFamily.SMOLLM3: ("<|im_end|>", "<|end_of_text|>"),
    ModelFamily.GEMMA3: ("<end_of_turn>", "<eos>"),
}


_MODEL_NAME = "hf/local"
_SERVED_NAME = "ptb-model"
_GPU_PAD_MULTIPLE = 64
_GPU_DECODE_BATCH = 256
"""Rows per batch of the batched engine on GPU (at least)."""
"""Prompt lengths are padded up to a multiple of this on GPU (few compiled shapes)."""
DEFAULT_BATCH_SIZE = 32
"""Concurrent generations when the caller names none (``hf`` batch, server connections)."""
_ONE_BATCH_BYTES = 64 * 2**20
"""On a CPU, a model whose weights are smaller than this (the toy models) decodes every
sample in one batch."""


class EvaluationError(Exception):
    """The model could not be evaluated (did not load, crashed, produced no score)."""


def stop_token_ids(model_dir: Path, family: ModelFamily) -> list[int]:
    """Ids, in the submitted tokenizer, of the tokens that end an assistant turn."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    except Exception as error:
        raise EvaluationError(f"tokenizer does not load: {error}") from error
    vocab = tokenizer.get_vocab()
    ids = [int(vocab[token]) for token in _STOP_TOKENS[family] if token in vocab]
    if not ids:
        raise EvaluationError(f"tokenizer has none of the end tokens {_STOP_TOKENS[family]}")
    return ids


def _pinned_generation_config(
    stop_ids: list[int],
    max_tokens: int,
    cache_implementation: str | None = None,
    sampling: Sampling = GREEDY,
) -> Any:
    from transformers import GenerationConfig

    extra: dict[str, Any] = (
        {"cache_implementation": cache_implementation} if cache_implementation else {}
    )
    if not sampling.greedy:
        extra.update(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=max(sampling.top_k, 0),
            repetition_penalty=sampling.repetition_penalty,
        )
        if sampling.min_p:
            extra["min_p"] = sampling.min_p
    return GenerationConfig(
        do_sample=not sampling.greedy,
        max_new_tokens=max_tokens,
        eos_token_id=stop_ids,
        pad_token_id=stop_ids[-1],
        **extra,
    )


def hf_decode_settings(batch_size: int, device: str | None = None) -> dict[str, str | int]:
    """How the ``hf`` provider decodes, as recorded in ``metrics.json``.

    On CUDA the static KV cache lets transformers compile the decode step itself
    (``reduce-overhead``); prompts are padded to a multiple of 64 tokens so that few
    shapes are compiled. inspect's provider forms its own batches, so the last one is
    not padded to ``batch_size``. On CPU decoding stays eager with a dynamic cache, and
    ``PTB_HF_STATIC_CACHE=0`` keeps it eager on GPU too.

    On CUDA the default is the ``batched`` engine instead (:mod:`~posttrainbench.
    evaluation.batched_hf`: all requests of the evaluation decoded together, each with its
    own seed, in batches of at least 256 rows, fewer where GPU memory is short);
    ``PTB_HF_ENGINE=inspect|batched`` picks the engine on any device and
    ``PTB_HF_BATCH_SIZE`` the batched engine's rows per batch.
    """
    device = device or _device()
    settings: dict[str, str | int] = {"device": device, "batch_size": batch_size}
    cuda = device.startswith("cuda")
    engine = os.environ.get("PTB_HF_ENGINE") or ("batched" if cuda else "inspect")
    if engine not in ("batched", "inspect"):
        raise UserError(f"PTB_HF_ENGINE must be 'batched' or 'inspect', not '{engine}'.")
    if engine == "batched":
        size = os.environ.get("PTB_HF_BATCH_SIZE")
        rows = int(size) if size else (max(batch_size, _GPU_DECODE_BATCH) if cuda else batch_size)
        return {**settings, "engine": "batched", "batch_size": rows}
    if cuda and os.environ.get("PTB_HF_STATIC_CACHE", "1") != "0":
        settings.update(cache_implementation="static", pad_to_multiple_of=_GPU_PAD_MULTIPLE)
    return settings


def _default_batch_size(provider: Provider, model_dir: Path, samples: int) -> int:
    """:data:`DEFAULT_BATCH_SIZE`, or ``samples`` for a toy model decoded on a CPU.

    inspect's ``hf`` provider waits up to 2 s for a batch to fill, and each waiting sample
    polls for its result once a second: in batches of 32, the toy's 200 arith items took
    15 s on an idle 2-core machine, nearly all of it waiting. A model this small decodes
    them all in one batch in well under a second.
    """
    if provider is not Provider.HF or _device() != "cpu":
        return DEFAULT_BATCH_SIZE
    weights = sum(
        path.stat().st_size
        for pattern in ("*.safetensors", "*.bin")
        for path in model_dir.glob(pattern)
    )
    return max(samples, 1) if weights < _ONE_BATCH_BYTES else DEFAULT_BATCH_SIZE


def _device() -> str:
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def hf_chat_template(model_dir: Path, family: ModelFamily) -> str:
    """The family's template as the ``hf`` provider needs it.

    A template that writes the BOS token (Gemma's) renders text that a server tokenizes
    as is; inspect's ``hf`` provider tokenizes it with special tokens, so when the
    tokenizer adds BOS by itself the template's own BOS is dropped (never two BOS).
    """
    from transformers import AutoTokenizer

    template = chat_template(family)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    ids = tokenizer("a")["input_ids"]
    if tokenizer.bos_token_id is not None and ids and ids[0] == tokenizer.bos_token_id:
        template = template.replace("{{- bos_token -}}", "", 1)
    return template


def _hf_model(
    model_dir: Path,
    family: ModelFamily,
    stop_ids: list[int],
    tokens: int,
    decode: dict[str, str | int],
    sampling: Sampling = GREEDY,
) -> Any:
    from inspect_ai.model import ModelInfo, get_model, set_model_info

    # Without registered info, inspect resolves "hf/local" by building a second provider,
    # which asks the hub for a model called "local" (minutes of retries offline).
    set_model_info(_MODEL_NAME, ModelInfo(organization="local", context_length=1 << 20))
    if decode.get("engine") == "batched":
        return _batched_hf_model(model_dir, family, stop_ids, tokens, decode, sampling)
    cache = decode.get("cache_implementation")
    pad = decode.get("pad_to_multiple_of")
    extra: dict[str, Any] = {"tokenizer_call_args": {"pad_to_multiple_of": pad}} if pad else {}
    return get_model(
        _MODEL_NAME,
        model_path=str(model_dir),
        device=str(decode["device"]),
        chat_template=hf_chat_template(model_dir, family),
        do_sample=not sampling.greedy,
        batch_size=int(decode["batch_size"]),
        generation_config=_pinned_generation_config(
            stop_ids, tokens, str(cache) if cache else None, sampling
        ),
        memoize=False,
        **extra,
    )


def _batched_hf_model(
    model_dir: Path,
    family: ModelFamily,
    stop_ids: list[int],
    tokens: int,
    decode: dict[str, str | int],
    sampling: Sampling,
) -> Any:
    """The ``ptb-hf`` inspect model (:mod:`~posttrainbench.evaluation.batched_hf`)."""
    from inspect_ai.model import ModelInfo, get_model, set_model_info

    from posttrainbench.evaluation._sampling import SamplingParams
    from posttrainbench.evaluation.batched_hf import API_NAME

    name = f"{API_NAME}/local"
    set_model_info(name, ModelInfo(organization="local", context_length=1 << 20))
    return get_model(
        name,
        model_path=str(model_dir),
        device=str(decode["device"]),
        chat_template=hf_chat_template(model_dir, family),
        stop_ids=stop_ids,
        max_new_tokens=tokens,
        decode_batch_size=int(decode["batch_size"]),
        sampling=SamplingParams(
            temperature=0.0 if sampling.greedy else sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            min_p=sampling.min_p,
            repetition_penalty=sampling.repetition_penalty,
        ),
        memoize=False,
    )


def _openai_model(endpoint: Endpoint) -> Any:
    from inspect_ai.model import get_model

    return get_model(
        f"openai-api/ptb/{endpoint.model}",
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        memoize=False,
    )


def _server_sampling(
    stop_ids: list[int], family: ModelFamily, send_template: bool, sampling: Sampling = GREEDY
) -> dict[str, Any]:
    """Request fields that pin vLLM's sampling (beyond temperature and max_tokens)."""
    body: dict[str, Any] = {
        "stop_token_ids": stop_ids,
        "top_k": sampling.top_k,
        "min_p": sampling.min_p,
        "repetition_penalty": sampling.repetition_penalty,
        "skip_special_tokens": True,
    }
    if send_template:
        # An external server may have been started with any template: send ours with every
        # request (vLLM honours it when started with --trust-request-chat-template).
        body["chat_template"] = chat_template(family)
    return body


@contextmanager
def _model_for(
    provider: Provider,
    model_dir: Path,
    family: ModelFamily,
    stop_ids: list[int],
    tokens: int,
    log_dir: Path,
    endpoint: Endpoint | None,
    batch_size: int,
    decode: dict[str, str | int],
    sampling: Sampling = GREEDY,
) -> Iterator[Any]:
    """The inspect model to generate with; a managed server lives as long as the block."""
    if provider is Provider.HF:
        try:
            model = _hf_model(model_dir, family, stop_ids, tokens, decode, sampling)
        except Exception as error:
            raise EvaluationError(
                f"model does not load: {type(error).__name__}: {error}"
            ) from error
        yield model
    elif provider is Provider.OPENAI:
        yield _openai_model(endpoint or Endpoint.from_env())
    else:
        log_dir.mkdir(parents=True, exist_ok=True)
        template = log_dir / f"chat_template.{family.value}.jinja"
        template.write_text(chat_template(family), encoding="utf-8")
        settings = VllmSettings(executable=os.environ.get("PTB_VLLM_EXECUTABLE", "vllm"))
        server = VllmServer(model_dir, template, log_dir / "vllm.log", settings, _SERVED_NAME)
        try:
            server.start()
        except VllmServerError as error:
            raise EvaluationError(f"vllm server failed: {error}") from error
        try:
            yield _openai_model(Endpoint(server.base_url, _SERVED_NAME, server.api_key))
        finally:
            server.stop()


def evaluate_model(
    model_dir: Path,
    benchmark: Benchmark,
    family: ModelFamily,
    *,
    log_dir: Path,
    limit: int | None = None,
    max_tokens: int | None = None,
    provider: str | None = None,
    endpoint: Endpoint | None = None,
    judge: Judge | None = None,
    batch_size: int | None = None,
    few_shot: int = 0,
    base_dir: Path | None = None,
    protocol: Protocol | str = Protocol.PAPER,
    seeds: tuple[int, ...] | None = None,
) -> Metrics:
    """Score ``model_dir`` on ``benchmark`` (first ``limit`` items; all when None).

    Args:
        model_dir: The submitted model.
        benchmark: What to score it on.
        family: The *base* model's family: it picks the chat template and stop tokens.
        log_dir: Where inspect logs (and a managed server's log) go.
        limit: Items to evaluate; None for the full test split.
        max_tokens: Generation limit (default: the benchmark's).
        provider: ``hf``, ``vllm``, ``openai`` or ``auto`` (default: ``PTB_EVAL_PROVIDER``).
        endpoint: The server of the ``openai`` provider (default: from the environment).
        judge: The judge of a judge-scored benchmark (default: from the environment).
        batch_size: Concurrent generations (the ``hf`` batch size, the server connections);
            None: :data:`DEFAULT_BATCH_SIZE`, or every sample at once for a toy model on a
            CPU (see :func:`_default_batch_size`).
        few_shot: Examples from the benchmark's allowed data shown before each question
            (the ``baseline-few-shot`` rows; 0: none).
        base_dir: The base model: its tokenizer and generation config are used, never the
            submission's (see :mod:`~posttrainbench.evaluation.model_view`). None: the
            model is its own base (``ptb eval`` of any model).
        protocol: ``paper`` (seeded sampling, mean over seeds) or ``greedy``; see
            :mod:`~posttrainbench.evaluation.protocol`.
        seeds: Paper protocol: these seeds as given (upstream's command-line seeds);
            None: the benchmark's rule.

    Raises:
        UserError: A judge-scored benchmark without a judge key, a bad provider setting.
        EvaluationError: The model does not load or produced no score.
    """
    from inspect_ai import eval as inspect_eval

    from posttrainbench._hf_quiet import quiet_transformers

    quiet_transformers()  # the evaluation reports its own progress
    if not (model_dir / "config.json").is_file():
        raise EvaluationError(f"{model_dir} has no config.json: not a model directory")
    if benchmark.judged and judge is None:
        judge = OpenAIJudge.from_env()  # fails now, not after hours of generation
    chosen = select_provider(provider)
    protocol = Protocol(protocol)
    tokens = max_tokens or benchmark.generation.max_tokens
    os.environ.setdefault("INSPECT_DISPLAY", "none")
    tokenizer = None
    if base_dir is not None:
        try:
            tokenizer = build_model_view(model_dir, base_dir, log_dir / "model_view")
        except Exception as error:  # a malformed submission (config.json, tokenizer files)
            raise EvaluationError(
                f"model does not load: {type(error).__name__}: {error}"
            ) from error
        model_dir = log_dir / "model_view"
        try:
            check_loadable(model_dir)  # no pickles, no absurd sizes: before any loader runs
        except UnloadableModel as error:
            raise EvaluationError(f"model not loaded: {error}") from error
    sampling = base_sampling(base_dir or model_dir) if protocol is Protocol.PAPER else GREEDY
    stop_ids = stop_token_ids(model_dir, family)
    task = benchmark.judged_task(judge, limit) if judge is not None else benchmark.task(limit)
    if few_shot > 0:
        from posttrainbench.evaluation.few_shot import few_shot_examples, with_few_shot

        task = with_few_shot(task, few_shot_examples(benchmark, few_shot))
    if protocol is Protocol.PAPER:
        seeds = seeds or seeds_for(benchmark, sampling)
        task = seeded_task(task, benchmark, seeds)
    else:
        seeds = ()
    temperature = sampling.temperature
    if batch_size is None:
        batch_size = _default_batch_size(chosen, model_dir, len(task.dataset) * (task.epochs or 1))
    extra: dict[str, Any] = {}
    decode = hf_decode_settings(batch_size) if chosen is Provider.HF else {}
    if chosen is not Provider.HF:
        body = _server_sampling(stop_ids, family, chosen is Provider.OPENAI, sampling)
        extra = dict(top_p=sampling.top_p, extra_body=body)
        if not seeds:
            extra["seed"] = 0
    with _model_for(
        chosen,
        model_dir,
        family,
        stop_ids,
        tokens,
        log_dir,
        endpoint,
        batch_size,
        decode,
        sampling,
    ) as model:
        try:
            logs = inspect_eval(
                task,
                model=model,
                log_dir=str(log_dir),
                max_tokens=tokens,
                # hf: greedy decoding is pinned in the generation config (a temperature
                # would only warn); servers get an explicit 0.
                temperature=temperature if chosen is not Provider.HF else (temperature or None),
                display="none",
                # Only the finished log is read: no live sample buffer (a SQLite database
                # for `inspect view`), which cost a tenth of a toy model's evaluation.
                log_realtime=False,
                # the batched engine batches itself: every sample's request at once
                max_connections=len(task.dataset) if decode.get("engine") else batch_size,
                fail_on_error=True,
                **extra,
            )
        except EvaluationError:
            raise
        except Exception as error:
            raise EvaluationError(f"{type(error).__name__}: {error}") from error
    metrics = _metrics_from_log(logs[0], benchmark, tokens, log_dir, chosen, judge)
    return _with_protocol(metrics, logs[0], protocol, sampling, seeds, tokenizer).model_copy(
        update={"decode": decode}
    )


def _with_protocol(
    metrics: Metrics,
    log: Any,
    protocol: Protocol,
    sampling: Sampling,
    seeds: tuple[int, ...],
    tokenizer: TokenizerUse | None,
) -> Metrics:
    """``metrics`` with the protocol recorded; several seeds: the mean over the seeds."""
    update: dict[str, Any] = {
        "protocol": protocol.value,
        "sampling": sampling.model_dump(),
        "seeds": list(seeds),
        "temperature": sampling.temperature,
        "tokenizer": tokenizer.model_dump() if tokenizer else None,
    }
    if len(seeds) > 1:
        per_seed = seed_scores(log)
        errors = [score.stderr for score in per_seed if score.stderr is not None]
        update.update(
            accuracy=sum(score.accuracy for score in per_seed) / len(per_seed),
            stderr=sum(errors) / len(errors) if errors else None,
            n=per_seed[0].n,
            per_seed=[score.model_dump() for score in per_seed],
        )
    return metrics.model_copy(update=update)


def _metrics_from_log(
    log: Any,
    benchmark: Benchmark,
    tokens: int,
    log_dir: Path,
    provider: Provider,
    judge: Judge | None,
) -> Metrics:
    if log.status != "success" or not log.results or not log.results.scores:
        message = log.error.message if log.error else f"evaluation ended with {log.status}"
        raise EvaluationError(message)
    metrics = log.results.scores[0].metrics
    stderr = metrics.get("stderr")
    extras: dict[str, float | int | str] = {
        name: float(metric.value)
        for name, metric in metrics.items()
        if name not in {"accuracy", "stderr"}
    }
    if isinstance(judge, OpenAIJudge):
        extras.update(
            judge_model=judge.settings.model,
            judge_calls=judge.calls,
            judge_retries=judge.retries,
        )
    return Metrics(
        accuracy=float(metrics["accuracy"].value),
        stderr=float(stderr.value) if stderr is not None else None,
        n=int(log.results.completed_samples),
        benchmark=benchmark.id,
        max_tokens=tokens,
        temperature=benchmark.generation.temperature,
        provider=provider.value,
        log_file=os.path.relpath(log.location, log_dir) if log.location else None,
        extras=extras,
    )
