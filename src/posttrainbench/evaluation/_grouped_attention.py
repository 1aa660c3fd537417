"""Decode attention that reads each key/value head once: grouped-query attention, no copies.

transformers' SDPA path gives grouped-query models (Qwen3: 32 query heads over 8 key/value
heads) to ``scaled_dot_product_attention`` with ``enable_gqa`` only when there is no mask;
with the padding mask that batched decoding needs it first copies every key/value head
once per query head (``repeat_kv``). In a decode step that copy is the step: it reads the
whole KV cache, writes it four times over and the attention reads it back, about nine
passes where one would do.

Here a decode step (one query token) folds the query heads of a group into the query
*length*: ``(batch, kv_heads × groups, 1, dim)`` becomes ``(batch, kv_heads, groups,
dim)``, and SDPA attends those ``groups`` rows to their own key/value head, with the
``(batch, 1, 1, keys)`` mask broadcast over them. That is the same function (each query
head sees the same keys under the same mask, no causal order between the folded rows), so
the fused kernels read each key/value once. Prompts (several query tokens) go to
transformers' own SDPA function unchanged.

A caller that knows where each row's keys lie in its static cache (the batched decoder:
left-padded prompt, then the tokens so far) passes the ranges; on a GPU the step then runs
PyTorch's variable-length flash kernel over the cache in place, reading only those keys
instead of the whole cache under a mask (at GSM8K lengths about half of it).

:func:`grouped_decode_attention` switches a model to this function for a ``with`` block;
torch and transformers are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

__all__ = ["ATTENTION_NAME", "grouped_attention_forward", "grouped_decode_attention"]

ATTENTION_NAME = "ptb_grouped_decode"
"""The name under which the function is registered with transformers' attention registry."""


def grouped_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    ptb_key_start: torch.Tensor | None = None,
    ptb_key_count: torch.Tensor | None = None,
    use_flash: bool = False,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """An ``AttentionInterface`` function: SDPA with the query heads of a group folded.

    ``query`` is ``(batch, heads, query_length, dim)``, ``key`` and ``value`` ``(batch,
    kv_heads, keys, dim)``; returns ``(batch, query_length, heads, dim)`` as transformers
    expects. Anything but a one-token grouped query without position bias is SDPA's.

    ``ptb_key_start`` and ``ptb_key_count`` (int32, one per row, passed through the
    model's keyword arguments by a caller that knows its cache) say that row ``b`` attends
    exactly to keys ``[start_b, start_b + count_b)``; they replace ``attention_mask``.
    With ``use_flash`` (a CUDA GPU of compute capability 8 or more, half precision) the
    step runs PyTorch's variable-length flash kernel, which reads only those keys;
    otherwise they become the equivalent mask.
    """
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    batch, heads, length, dim = query.shape
    kv_heads = key.shape[1]
    if length != 1 or kv_heads == heads or kwargs.get("position_bias") is not None:
        out, _ = sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout, scaling, **kwargs
        )
        return out, None
    if ptb_key_start is not None and ptb_key_count is not None:
        if use_flash:
            return _flash_varlen(query, key, value, scaling, ptb_key_start, ptb_key_count), None
        position = torch.arange(key.shape[2], device=key.device)
        end = ptb_key_start + ptb_key_count
        valid = (position >= ptb_key_start[:, None]) & (position < end[:, None])
        attention_mask = valid[:, None, None, :]
    folded = query.reshape(batch, kv_heads, heads // kv_heads, dim)
    out = torch.nn.functional.scaled_dot_product_attention(
        folded,
        key,
        value,
        attn_mask=attention_mask,
        dropout_p=dropout if module.training else 0.0,
        scale=scaling,
    )
    return out.reshape(batch, 1, heads, dim), None


def _flash_varlen(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    scaling: float | None,
    start: torch.Tensor,
    count: torch.Tensor,
) -> torch.Tensor:
    """Folded decode attention over each row's own key range, by the varlen flash kernel.

    Every (row, kv head) is one sequence: ``groups`` query rows against one key/value
    head, its keys starting at ``start`` inside that head's stretch of the cache (one
    ``keys``-long stretch each, so the cache is read in place) and ``count`` long.
    """
    import torch

    batch, heads, _, dim = query.shape
    kv_heads, keys = key.shape[1], key.shape[2]
    groups = heads // kv_heads
    sequence = torch.arange(batch * kv_heads + 1, device=query.device, dtype=torch.int32)
    starts = sequence * keys
    starts = torch.cat([starts[:-1] + start.repeat_interleave(kv_heads), starts[-1:]])
    out = torch.ops.aten._flash_attention_forward(
        query.reshape(-1, 1, dim),
        key.reshape(-1, 1, dim),
        value.reshape(-1, 1, dim),
        sequence * groups,
        starts,
        groups,
        keys,
        0.0,
        False,
        False,
        scale=scaling,
        seqused_k=count.repeat_interleave(kv_heads),
    )[0]
    return out.reshape(batch, 1, heads, dim)


def _flash_fits(model: PreTrainedModel) -> bool:
    """Whether ``model`` can run :func:`_flash_varlen` (PyTorch's flash kernel's limits)."""
    import torch

    config = model.config.get_text_config()
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return (
        model.device.type == "cuda"
        and model.dtype in (torch.float16, torch.bfloat16)
        and torch.cuda.get_device_capability(model.device)[0] >= 8
        and head_dim <= 256
        and head_dim % 8 == 0
    )


def _register(use_flash: bool) -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    forward = partial(grouped_attention_forward, use_flash=use_flash)
    AttentionInterface.register(ATTENTION_NAME, forward)
    AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)


@contextmanager
def grouped_decode_attention(model: PreTrainedModel) -> Iterator[bool]:
    """Run ``model`` with :func:`grouped_attention_forward` inside the block.

    Only a model on transformers' SDPA path is switched (its prompts keep the same
    kernels); a model on another implementation (eager, flash) is left as it is. Yields
    whether it was switched: only then may the caller pass ``ptb_key_start`` and
    ``ptb_key_count``.
    """
    before = model.config._attn_implementation
    if before != "sdpa":
        yield False
        return
    _register(_flash_fits(model))
    model.set_attn_implementation(ATTENTION_NAME)
    try:
        yield True
    finally:
        model.set_attn_implementation(before)
