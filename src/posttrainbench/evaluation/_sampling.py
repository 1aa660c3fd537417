"""Choosing the next token per row, with a random stream that belongs to the row's seed.

The paper protocol seeds every request (:func:`~posttrainbench.evaluation.protocol.
sample_seed`). A global torch generator would make a row's draw depend on its batch
neighbours; here the noise of row ``r`` at decoding step ``t`` for vocabulary entry ``v`` is
a counter-based hash of ``(seed_r, t, v)``, so a request samples the same tokens in any
batch, on any device (up to the floating-point differences of the logits themselves).

Sampling is the Gumbel-max trick: ``argmax(logits / T + g)`` with ``g`` Gumbel noise is a
draw from ``softmax(logits / T)``. Filters follow vLLM's order: repetition penalty,
temperature, top-k, top-p, min-p. Greedy (temperature 0) is a plain argmax.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import torch

__all__ = [
    "SamplingParams",
    "counter_uniform",
    "counter_uniform_at",
    "next_tokens",
    "sample_seed",
]

_MASK32 = 0xFFFFFFFF


class SamplingParams(NamedTuple):
    """vLLM-style sampling settings of one decode run (all rows share them)."""

    temperature: float = 0.0
    """0: greedy."""
    top_p: float = 1.0
    top_k: int = 0
    """0 or below: no top-k."""
    min_p: float = 0.0
    repetition_penalty: float = 1.0

    @property
    def greedy(self) -> bool:
        """Whether the next token is the argmax (vLLM: temperature below 1e-5)."""
        return self.temperature < 1e-5


def sample_seed(run_seed: int, sample_id: str | int, epoch: int = 1, call: int = 0) -> int:
    """The seed of one request: upstream's hash of run seed, item, epoch and call index."""
    digest = hashlib.sha256(f"{run_seed}:{sample_id}:{epoch}:{call}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _mix32(x: Any) -> Any:
    """A 32-bit integer hash (``lowbias32``) of an int or an int64 tensor of 32-bit values."""
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & _MASK32
    return x ^ (x >> 16)


def counter_uniform(seeds: torch.Tensor, step: int | torch.Tensor, vocab: int) -> torch.Tensor:
    """Uniform numbers in (0, 1), shape ``(rows, vocab)``, a function of (seed, step, v)."""
    import torch

    column = torch.arange(vocab, device=seeds.device, dtype=torch.int64)
    return counter_uniform_at(seeds, step, column[None, :])


def counter_uniform_at(
    seeds: torch.Tensor, step: int | torch.Tensor, columns: torch.Tensor
) -> torch.Tensor:
    """:func:`counter_uniform`'s numbers at vocabulary entries ``columns`` (rows × k).

    ``step`` may be a 0-d tensor, so that a compiled decode step is one graph for all steps.
    """
    import torch

    row = _mix32((seeds.to(torch.int64) & _MASK32) ^ _mix32(step + 1))
    x = _mix32((row[:, None] + columns.to(torch.int64) * 0x9E3779B9) & _MASK32)
    return ((x >> 8).to(torch.float32) + 0.5) * (1.0 / (1 << 24))


def next_tokens(
    logits: torch.Tensor,
    params: SamplingParams,
    seeds: torch.Tensor,
    step: int | torch.Tensor,
    seen: torch.Tensor | None = None,
    vocab_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """The next token of every row of ``logits`` (``rows × vocab``).

    ``seen`` (rows × vocab, bool) marks the tokens of each row's prompt and output so far;
    the repetition penalty needs it. With top-k or top-p the candidates are sorted once
    (``topk`` for top-k, a full sort otherwise) and the noise is drawn for the sorted
    columns, so no scatter back to vocabulary order is needed. ``vocab_ids`` is
    ``arange(vocab)`` made by the caller: a compiled caller must pass it, since inductor
    turns an ``arange`` made inside the graph into 32-bit index arithmetic, where the
    noise hash's constant does not fit.
    """
    import torch

    if seen is not None and params.repetition_penalty != 1.0:
        penalty = params.repetition_penalty
        logits = torch.where(
            seen, torch.where(logits > 0, logits / penalty, logits * penalty), logits
        )
    if params.greedy:
        return logits.argmax(dim=-1)
    logits = logits.float() / params.temperature
    vocab = logits.shape[-1]
    if not (0 < params.top_k < vocab) and params.top_p >= 1.0:
        return _gumbel_argmax(_min_p(logits, params.min_p), seeds, step, vocab_ids)
    if 0 < params.top_k < vocab:
        ordered, order = torch.topk(logits, params.top_k, dim=-1)
    else:
        ordered, order = torch.sort(logits, dim=-1, descending=True)
    if params.top_p < 1.0:
        probs = ordered.softmax(dim=-1)
        before = probs.cumsum(dim=-1) - probs  # mass of the better tokens
        ordered = ordered.masked_fill(before > params.top_p, float("-inf"))
    pick = _gumbel_argmax(_min_p(ordered, params.min_p), seeds, step, order)
    return order.gather(-1, pick[:, None])[:, 0]


def _min_p(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """``logits`` without the tokens under ``min_p`` times the top token's probability."""
    if min_p <= 0.0:
        return logits
    probs = logits.softmax(dim=-1)
    floor = probs.max(dim=-1, keepdim=True).values * min_p
    return logits.masked_fill(probs < floor, float("-inf"))


def _gumbel_argmax(
    logits: torch.Tensor,
    seeds: torch.Tensor,
    step: int | torch.Tensor,
    columns: torch.Tensor | None,
) -> torch.Tensor:
    """Index of ``argmax(logits + g)``, ``g`` the Gumbel noise of each entry's token.

    ``columns`` holds the token of each entry, rows × k or one row for all (None: entry i
    is token i).
    """
    import torch

    if columns is None:
        columns = torch.arange(logits.shape[-1], device=logits.device)
    gumbel = -torch.log(-torch.log(counter_uniform_at(seeds, step, columns)))
    return (logits + gumbel).argmax(dim=-1)
