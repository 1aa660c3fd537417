"""Decoding many seeded requests in one model load: the ``hf`` path at paper scale.

The paper scores every non-judged benchmark over five seeds. inspect's ``hf`` provider
calls ``generate`` on small batches with its per-step Python overhead; this module runs its
own decode loop over all requests of an evaluation:

- **length bucketing**: requests sorted by prompt length, longest first, so a batch's rows
  are padded (left) to about the same width (a multiple of 64 tokens);
- **one static KV cache for the whole run**: sized once (batch size × longest padded
  prompt + new tokens) and reused by every batch; the last batch is filled up to the same
  size, so every decode step has the same shapes;
- **a compiled decode step** on CUDA (``torch.compile``, ``reduce-overhead``: one CUDA
  graph replay per token, the model's forward and the sampling together); the prefill
  runs eager with ``logits_to_keep=1``;
- **grouped-query decode attention** that reads each key/value head once, and on a GPU
  only each row's own keys (see :mod:`~posttrainbench.evaluation._grouped_attention`);
- **early stop per sequence**: a row's output ends at its first stop token or its token
  limit, and a batch ends once all its rows have ended;
- **per-request seeds**: see :mod:`~posttrainbench.evaluation._sampling` (a request samples
  the same tokens whatever its batch).

Torch and transformers are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from posttrainbench.evaluation._grouped_attention import grouped_decode_attention
from posttrainbench.evaluation._sampling import SamplingParams, next_tokens

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = ["DecodeSettings", "Request", "decode_all", "decode_batches"]

_PAD_MULTIPLE = 64
_STOP_CHECK_EVERY = 8
"""Decode steps between checks (a device sync) of whether the whole batch has ended."""


class Request(NamedTuple):
    """One generation: prompt token ids, its seed and its new-token limit."""

    prompt: Sequence[int]
    seed: int
    max_new_tokens: int


class DecodeSettings(NamedTuple):
    """How to batch and sample."""

    batch_size: int = 256
    sampling: SamplingParams = SamplingParams()
    compile: bool | None = None
    """Compile the decode step (None: on CUDA only)."""


def decode_all(
    model: PreTrainedModel,
    requests: Sequence[Request],
    settings: DecodeSettings,
    *,
    pad_id: int,
    stop_ids: Sequence[int],
    progress: Callable[[int, int], None] | None = None,
) -> list[list[int]]:
    """New tokens of every request, in order: up to and including the stop token.

    ``progress(done, total)`` is called after each batch with counts of requests.
    """
    outputs: list[list[int]] = [[] for _ in requests]
    done = 0
    for indices, tokens in decode_batches(
        model, requests, settings, pad_id=pad_id, stop_ids=stop_ids
    ):
        for index, new in zip(indices, tokens, strict=True):
            outputs[index] = new
        done += len(indices)
        if progress is not None:
            progress(done, len(requests))
    return outputs


def decode_batches(
    model: PreTrainedModel,
    requests: Sequence[Request],
    settings: DecodeSettings,
    *,
    pad_id: int,
    stop_ids: Sequence[int],
) -> Iterator[tuple[list[int], list[list[int]]]]:
    """(request indices, their new tokens) batch after batch, longest prompts first."""
    import torch

    if not requests:
        return
    order = sorted(range(len(requests)), key=lambda i: (-len(requests[i].prompt), i))
    length = _padded(max(len(r.prompt) for r in requests))
    length += max(r.max_new_tokens for r in requests)
    size = _rows_that_fit(model, min(settings.batch_size, len(requests)), length)
    with grouped_decode_attention(model) as key_ranges:
        decoder = _Decoder(model, size, length, settings, stop_ids, key_ranges=key_ranges)
        for start in range(0, len(order), size):
            indices = order[start : start + size]
            chunk = [requests[i] for i in indices]
            rows = chunk + [chunk[-1]] * (size - len(chunk))  # same shapes every batch
            with torch.inference_mode():
                tokens = decoder.run(rows, pad_id)
            yield indices, tokens[: len(indices)]


def _rows_that_fit(model: PreTrainedModel, rows: int, length: int) -> int:
    """``rows``, or fewer where the KV cache of ``rows × length`` would not fit the GPU.

    The cache takes at most 70 % of the memory still free to this process (the rest is
    for the prefill's activations and the logits), also under a per-process cap
    (``torch.cuda.set_per_process_memory_fraction``).
    """
    import torch

    if model.device.type != "cuda":
        return rows
    config = model.config.get_text_config()
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * head_dim
    per_row = per_token * model.dtype.itemsize * length + 16 * config.vocab_size
    free, total = torch.cuda.mem_get_info(model.device)
    fraction = getattr(torch.cuda, "get_per_process_memory_fraction", lambda _d: 1.0)(model.device)
    free = min(free, int(total * fraction) - torch.cuda.memory_reserved(model.device))
    return max(1, min(rows, int(free * 0.7) // int(per_row)))


def _padded(length: int) -> int:
    return max(1, -(-length // _PAD_MULTIPLE)) * _PAD_MULTIPLE


class _Decoder:
    """A static cache of ``rows × length`` and the (compiled) step that reads it."""

    def __init__(
        self,
        model: PreTrainedModel,
        rows: int,
        length: int,
        settings: DecodeSettings,
        stop_ids: Sequence[int],
        *,
        key_ranges: bool = False,
    ) -> None:
        """``key_ranges``: pass each row's key range to the attention (see ``_step``)."""
        import torch
        from transformers import StaticCache

        self.model = model
        self.device = model.device
        self.rows, self.length = rows, length
        self.key_ranges = key_ranges
        self.sampling = settings.sampling
        self.stop = torch.tensor(list(stop_ids), device=self.device)
        self.cache = StaticCache(config=model.config, max_cache_len=length)
        self.mask = torch.ones((rows, length), dtype=torch.long, device=self.device)
        self.vocab_ids: Any = None
        compile_step = settings.compile
        if compile_step is None:
            compile_step = self.device.type == "cuda"
        self.compiled = bool(compile_step)
        self.step: Callable[..., Any] = self._step
        if compile_step:
            self.step = torch.compile(self._step, mode="reduce-overhead", dynamic=False)

    def _step(
        self,
        token: Any,
        lengths: Any,
        start: Any,
        t: Any,
        mask: Any,
        seeds: Any,
        seen: Any,
    ) -> Any:
        """Feed token ``t`` of every row, sample token ``t + 1``: one graph for all steps.

        Row ``b``'s keys are its prompt, right-aligned to ``start``, and the tokens fed
        so far: ``lengths[b] + t + 1`` cache slots from ``start - lengths[b]``.
        """
        import torch

        ranges = {}
        if self.key_ranges:
            ranges = {
                "ptb_key_start": (start - lengths).to(torch.int32),
                "ptb_key_count": (lengths + t + 1).to(torch.int32),
            }
        out = self.model(
            input_ids=token[:, None],
            position_ids=(lengths + t)[:, None],
            cache_position=(start + t).reshape(1),
            attention_mask=mask,
            past_key_values=self.cache,
            use_cache=True,
            **ranges,
        )
        logits = out.logits[:, -1, :]
        return next_tokens(logits, self.sampling, seeds, t + 1, seen, self.vocab_ids)

    def run(self, rows: Sequence[Request], pad_id: int) -> list[list[int]]:
        """New tokens of ``rows`` (exactly ``self.rows`` of them)."""
        import torch

        width = _padded(max(len(r.prompt) for r in rows))
        ids = torch.full((self.rows, width), pad_id, dtype=torch.long)
        lengths = torch.tensor([len(r.prompt) for r in rows])
        self.mask.fill_(1)
        mask = torch.zeros((self.rows, width), dtype=torch.long)
        for i, row in enumerate(rows):
            if row.prompt:
                ids[i, width - len(row.prompt) :] = torch.tensor(list(row.prompt))
                mask[i, width - len(row.prompt) :] = 1
        self.mask[:, :width].copy_(mask)
        ids, lengths = ids.to(self.device), lengths.to(self.device)
        positions = (self.mask[:, :width].cumsum(-1) - 1).clamp(min=0)
        self.cache.reset()
        logits = self.model(
            input_ids=ids,
            position_ids=positions,
            cache_position=torch.arange(width, device=self.device),
            attention_mask=self.mask,
            past_key_values=self.cache,
            use_cache=True,
            logits_to_keep=1,
        ).logits[:, -1, :]
        seeds = torch.tensor([r.seed for r in rows], device=self.device)
        limits = torch.tensor([r.max_new_tokens for r in rows], device=self.device)
        seen = self._seen(ids, mask.to(self.device), logits.shape[-1])
        steps = max(r.max_new_tokens for r in rows)
        out = torch.full((self.rows, steps), pad_id, dtype=torch.long, device=self.device)
        ended = torch.zeros(self.rows, dtype=torch.bool, device=self.device)
        if self.vocab_ids is None:
            self.vocab_ids = torch.arange(logits.shape[-1], device=self.device)
        token = next_tokens(logits, self.sampling, seeds, 0, seen, self.vocab_ids)
        start = torch.tensor(width, device=self.device)
        every_row = torch.arange(self.rows, device=self.device)
        step = torch.zeros((), dtype=torch.long, device=self.device)
        taken = 0
        for t in range(steps):
            out[:, t] = token
            taken = t + 1
            ended |= torch.isin(token, self.stop) | (limits <= t + 1)
            if t + 1 == steps or ((t + 1) % _STOP_CHECK_EVERY == 0 and bool(ended.all())):
                break
            if seen is not None:
                seen[every_row, token] = True
            if self.compiled:
                torch.compiler.cudagraph_mark_step_begin()
            step.fill_(t)  # no host-to-device copy, no sync
            token = self.step(token, lengths, start, step, self.mask, seeds, seen).clone()
        return [
            _until_stop(tokens[:limit], self.stop.tolist())
            for tokens, limit in zip(
                out[:, :taken].tolist(), [r.max_new_tokens for r in rows], strict=True
            )
        ]

    def _seen(self, ids: Any, mask: Any, vocab: int) -> Any:
        """Rows × vocab marks of the prompt tokens (only for a repetition penalty)."""
        import torch

        if self.sampling.repetition_penalty == 1.0:
            return None
        seen = torch.zeros((self.rows, vocab), dtype=torch.bool, device=self.device)
        last = ids[:, -1:]  # left padding: the last column is a prompt token
        seen.scatter_(1, torch.where(mask.bool(), ids, last), True)
        return seen


def _until_stop(tokens: list[int], stop_ids: Sequence[int]) -> list[int]:
    """``tokens`` up to and including the first stop token."""
    for position, token in enumerate(tokens):
        if token in stop_ids:
            return tokens[: position + 1]
    return tokens
