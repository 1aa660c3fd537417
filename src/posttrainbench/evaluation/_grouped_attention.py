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

:func:`grouped_decode_attention` switches a model to this function for a ``with`` block;
torch and transformers are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """An ``AttentionInterface`` function: SDPA with the query heads of a group folded.

    ``query`` is ``(batch, heads, query_length, dim)``, ``key`` and ``value`` ``(batch,
    kv_heads, keys, dim)``; returns ``(batch, query_length, heads, dim)`` as transformers
    expects. Anything but a one-token grouped query without position bias is SDPA's.
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


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION_NAME, grouped_attention_forward)
    AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)


@contextmanager
def grouped_decode_attention(model: PreTrainedModel) -> Iterator[None]:
    """Run ``model`` with :func:`grouped_attention_forward` inside the block.

    Only a model on transformers' SDPA path is switched (its prompts keep the same
    kernels); a model on another implementation (eager, flash) is left as it is.
    """
    before = model.config._attn_implementation
    if before != "sdpa":
        yield
        return
    _register()
    model.set_attn_implementation(ATTENTION_NAME)
    try:
        yield
    finally:
        model.set_attn_implementation(before)
