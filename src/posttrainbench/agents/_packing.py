"""Sequence packing for the reference recipe: document-masked attention without flash-attn.

TRL packs the tokenized records into rows of ``max_length`` tokens (best-fit decreasing)
and, padding-free, flattens a micro-batch into one sequence with ``position_ids`` that
restart at every record and the records' cumulative lengths (``cu_seq_lens_q``). The
attention registered here (:data:`PACKED_ATTENTION`) keeps every record to itself:

- on a CUDA device, PyTorch's own variable-length flash attention
  (``torch.nn.attention.varlen.varlen_attn``, PyTorch 2.9 and later), which skips the
  blocks between records, so no flash-attn wheel is needed;
- elsewhere (the CPU, older PyTorch), scaled dot-product attention with a block-diagonal
  causal mask: the same function, quadratic in the packed length.

RoPE positions come from ``position_ids``, so a packed record sees exactly what it would
see alone; ``tests/agents/test_sft_recipe_packing.py`` checks the per-record losses.
Torch and transformers are imported inside the functions that need them.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "PACKED_ATTENTION",
    "packed_attention",
    "packed_rows_per_step",
    "rows_in_whole_micro_batches",
    "use_packed_attention",
    "varlen_kernel",
]

PACKED_ATTENTION = "ptb_packed"
"""The name the packed attention is registered under with transformers."""

# Records tokenized to estimate the mean length (the chat template makes it cheap, not free).
_LENGTH_SAMPLE = 256


def use_packed_attention(model: PreTrainedModel) -> None:
    """Register :func:`packed_attention` and switch ``model`` (and a wrapped base) to it."""
    from transformers import AttentionInterface

    AttentionInterface.register(PACKED_ATTENTION, packed_attention)
    model.set_attn_implementation(PACKED_ATTENTION)


def packed_rows_per_step(
    tokenizer: PreTrainedTokenizerBase, records: Iterable[dict[str, Any]], batch_size: int, row: int
) -> int:
    """Packed rows of ``row`` tokens that hold about ``batch_size`` records, at least one.

    Keeps an optimizer step's worth of data (and so the schedule over ``max_steps``) what
    it is unpacked; the mean length comes from the first records, with the chat template.
    """
    sample = list(itertools.islice(records, _LENGTH_SAMPLE))
    lengths = [len(_tokens(tokenizer, record)) for record in sample]
    mean = sum(lengths) / max(len(lengths), 1)
    return max(1, round(batch_size * min(mean, row) / row))


def rows_in_whole_micro_batches(rows: int, most: int | None) -> int:
    """``rows`` rounded up so that equal micro-batches of at most ``most`` rows hold them.

    13 rows at most 8 a pass would otherwise mean 13 passes of one row; this gives 14 (2x7).
    """
    if most is None or rows <= most:
        return rows
    passes = math.ceil(rows / most)
    return passes * math.ceil(rows / passes)


def _tokens(tokenizer: PreTrainedTokenizerBase, record: dict[str, Any]) -> list[int]:
    """``record`` (tokenized, or prompt-completion) as the trainer tokenizes it."""
    if "input_ids" in record:
        return list(record["input_ids"])
    prompt, completion = record.get("prompt", ""), record.get("completion", "")
    if isinstance(prompt, list):
        ids = tokenizer.apply_chat_template([*prompt, *completion], tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        return list(ids)
    return list(tokenizer(str(prompt) + str(completion))["input_ids"])


def packed_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Causal attention within each packed record (transformers' attention signature).

    ``query`` is (batch, heads, tokens, head_dim); the result is (batch, tokens, heads,
    head_dim). Record boundaries come from ``cu_seq_lens_q``/``max_length_q`` (TRL's
    padding-free collator) or else from ``position_ids`` restarting at 0. A batch with
    neither is attended causally as one sequence per row.
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    bounds = _boundaries(query, kwargs)
    if bounds is None:
        out, _ = sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout, scaling, is_causal=True
        )
        return out, None
    cu_seq_lens, max_length = bounds
    if varlen_kernel() is not None and query.is_cuda and query.dtype.itemsize == 2:
        return _varlen(query, key, value, cu_seq_lens, max_length, scaling), None
    mask = _block_diagonal_causal(cu_seq_lens, query.shape[2])
    out, _ = sdpa_attention_forward(
        module, query, key, value, mask, dropout, scaling, is_causal=False
    )
    return out, None


def _boundaries(query: torch.Tensor, kwargs: dict[str, Any]) -> tuple[torch.Tensor, int] | None:
    """The packed records' cumulative lengths and longest length, if the batch is packed."""
    import torch

    cu_seq_lens = kwargs.get("cu_seq_lens_q")
    if cu_seq_lens is not None and query.shape[0] == 1:
        max_length = kwargs.get("max_length_q")
        if max_length is None:
            max_length = int(cu_seq_lens.diff().max())
        return cu_seq_lens.to(device=query.device, dtype=torch.int32), int(max_length)
    position_ids = kwargs.get("position_ids")
    if position_ids is None or query.shape[0] != 1:
        return None
    positions = position_ids.reshape(-1)
    starts = (positions == 0).nonzero().reshape(-1)
    if starts.numel() <= 1:
        return None
    end = torch.tensor([positions.numel()], device=starts.device)
    cu_seq_lens = torch.cat([starts, end]).to(torch.int32)
    return cu_seq_lens.to(query.device), int(cu_seq_lens.diff().max())


def _block_diagonal_causal(cu_seq_lens: torch.Tensor, tokens: int) -> torch.Tensor:
    """A (1, 1, tokens, tokens) boolean mask: causal, and only within each record."""
    import torch

    index = torch.arange(tokens, device=cu_seq_lens.device)
    record = torch.searchsorted(cu_seq_lens[1:].long(), index, right=True)
    same = record[:, None] == record[None, :]
    return (same & (index[:, None] >= index[None, :]))[None, None]


@functools.cache
def varlen_kernel() -> tuple[Any, frozenset[str]] | None:
    """PyTorch's variable-length flash attention and its keyword names (None: not there)."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    return varlen_attn, frozenset(inspect.signature(varlen_attn).parameters)


def _varlen(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seq_lens: torch.Tensor,
    max_length: int,
    scaling: float | None,
) -> torch.Tensor:
    """Flash attention over the packed records of a (1, heads, tokens, dim) batch."""
    kernel = varlen_kernel()
    assert kernel is not None
    varlen_attn, names = kernel
    q, k, v = (t[0].transpose(0, 1).contiguous() for t in (query, key, value))
    options: dict[str, Any] = {"scale": scaling}
    if "window_size" in names:
        options["window_size"] = (-1, 0)  # causal
    else:
        options["is_causal"] = True
    groups = q.shape[1] // k.shape[1]
    if groups > 1 and "enable_gqa" in names:
        options["enable_gqa"] = True
    elif groups > 1:
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    out = varlen_attn(q, k, v, cu_seq_lens, cu_seq_lens, max_length, max_length, **options)
    return out.unsqueeze(0)
