"""Decoding many prompts and seeds in one model load: the ``hf`` path at paper scale.

The paper scores every non-judged benchmark over several seeds. Generating prompt by
prompt (or in inspect's small batches) re-pays the slow part of GPU decoding, reading the
weights once per step, for a handful of rows. This module decodes all (prompt, seed)
pairs of a benchmark in large batches:

- **length bucketing**: pairs sorted by prompt length, longest first, so a batch's rows
  are padded (left) to about the same width;
- **a static KV cache and a compiled decode step** (transformers' ``cache_implementation=
  "static"``): the first, widest batch sizes the cache and every later batch reuses it, so
  one compiled CUDA-graph step serves the whole run (the last batch is filled up to the
  same size);
- **early stop per sequence**: a finished row stops contributing output at its stop token,
  and a batch ends once all its rows have stopped.

Seeds give independent samples when sampling (``temperature`` > 0): the random stream is
seeded per batch, so a run is reproducible but a pair's draw depends on its batch. Greedy
decoding gives the same text for every seed. Torch is imported inside the function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = ["DecodeSettings", "decode_all"]

_PAD_MULTIPLE = 64


class DecodeSettings(NamedTuple):
    """How to decode: lengths, batching and sampling."""

    max_new_tokens: int
    batch_size: int = 256
    temperature: float = 0.0
    """0: greedy."""
    top_p: float = 1.0
    static_cache: bool = True
    """Static KV cache with a compiled decode step (else the dynamic cache, eager)."""


def decode_all(
    model: PreTrainedModel,
    prompts: Sequence[Sequence[int]],
    seeds: Sequence[int],
    settings: DecodeSettings,
    *,
    pad_id: int,
    stop_ids: Sequence[int],
    progress: Callable[[int, int], None] | None = None,
) -> dict[tuple[int, int], list[int]]:
    """New tokens for every (prompt index, seed), stop token included, nothing after it.

    ``progress(done, total)`` is called after each batch with counts of pairs.
    """
    import torch
    from transformers import GenerationConfig

    pairs = sorted(
        ((index, seed) for index in range(len(prompts)) for seed in seeds),
        key=lambda pair: (-len(prompts[pair[0]]), pair),
    )
    sampling = settings.temperature > 0
    config = GenerationConfig(
        max_new_tokens=settings.max_new_tokens,
        do_sample=sampling,
        temperature=settings.temperature if sampling else None,
        top_p=settings.top_p if sampling else None,
        top_k=None,
        eos_token_id=list(stop_ids),
        pad_token_id=pad_id,
        use_cache=True,  # a model saved from training may say otherwise
        cache_implementation="static" if settings.static_cache else None,
    )
    outputs: dict[tuple[int, int], list[int]] = {}
    size = settings.batch_size
    for start in range(0, len(pairs), size):
        chunk = pairs[start : start + size]
        rows = [prompts[index] for index, _ in chunk]
        if settings.static_cache:  # one batch size: one compiled step
            rows += [rows[-1]] * (size - len(rows))
        ids, mask = _left_padded(rows, pad_id)
        torch.manual_seed(chunk[0][1] * 1_000_003 + start)
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids.to(model.device),
                attention_mask=mask.to(model.device),
                generation_config=config,
            )
        new = out[:, ids.shape[1] :].tolist()
        for pair, tokens in zip(chunk, new, strict=False):
            outputs[pair] = _until_stop(tokens, stop_ids)
        if progress is not None:
            progress(min(start + size, len(pairs)), len(pairs))
    return outputs


def _left_padded(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """(input_ids, attention_mask) of ``rows``, left-padded to a multiple of 64 tokens."""
    import torch

    width = -(-max(len(row) for row in rows) // _PAD_MULTIPLE) * _PAD_MULTIPLE
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(list(row))
            mask[i, width - len(row) :] = 1
    return ids, mask


def _until_stop(tokens: list[int], stop_ids: Sequence[int]) -> list[int]:
    """``tokens`` up to and including the first stop token."""
    for position, token in enumerate(tokens):
        if token in stop_ids:
            return tokens[: position + 1]
    return tokens
