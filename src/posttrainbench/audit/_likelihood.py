"""Per-item log-likelihoods of chat-formatted test items, batched, without generation.

An item is rendered as the evaluation shows it to the model: the question as the user
turn and the reference answer as the assistant turn, in the harness's chat template for
the base model's family (the submitted tokenizer and template are never used). Its score
is the mean log-probability of the tokens of the question and the answer (the template's
own tokens are the same for every item and carry no signal).

Torch and transformers are imported inside the functions, so importing this is instant.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posttrainbench._model_files import check_loadable
from posttrainbench.benchmarks import TestItem
from posttrainbench.errors import UserError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import torch
    from transformers import PreTrainedTokenizerBase

_LOGIT_ELEMENTS = 1 << 28
"""Float32 logits upcast at once (1 GiB): bounds memory with a 150k-token vocabulary."""

__all__ = ["Encoded", "LikelihoodError", "encode_items", "item_log_likelihoods", "load_scorer"]


class LikelihoodError(UserError):
    """A model the memorization test needs cannot be loaded or scored."""


@dataclass(frozen=True)
class Encoded:
    """One rendered item: token ids and which of them are scored."""

    ids: tuple[int, ...]
    scored: tuple[bool, ...]
    """Per token: True for tokens of the question or answer text (never the first)."""


def _template(model_dir: Path, tokenizer: PreTrainedTokenizerBase) -> str | None:
    """The harness's chat template for the model's family, else the tokenizer's own."""
    from posttrainbench.catalog import chat_template, family_of

    try:
        return chat_template(family_of(model_dir))
    except (UserError, NotImplementedError):
        own = tokenizer.chat_template
        return own if isinstance(own, str) else None


def _render(item: TestItem, template: str | None, tokenizer: PreTrainedTokenizerBase) -> str:
    if template is None:
        return f"{item.question}\n{item.answer}"
    messages = [
        {"role": "user", "content": item.question},
        {"role": "assistant", "content": item.answer},
    ]
    text = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False)
    return str(text)


def _spans(text: str, item: TestItem) -> list[tuple[int, int]]:
    """Character spans of the question and the answer in the rendered text."""
    spans = []
    start = text.find(item.question)
    if start >= 0:
        spans.append((start, start + len(item.question)))
    answer_at = text.rfind(item.answer)
    if answer_at >= 0 and item.answer:
        spans.append((answer_at, answer_at + len(item.answer)))
    return spans or [(0, len(text))]


def encode_items(
    items: Sequence[TestItem], tokenizer: PreTrainedTokenizerBase, template: str | None, limit: int
) -> list[Encoded]:
    """Tokenized items, each cut to ``limit`` tokens, with the mask of scored tokens."""
    encoded = []
    for item in items:
        text = _render(item, template, tokenizer)
        spans = _spans(text, item)
        tokens = tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
        ids = list(tokens["input_ids"])[:limit]
        offsets = list(tokens["offset_mapping"])[:limit]
        scored = [
            index > 0 and any(a < end and start < b for a, b in spans)
            for index, (start, end) in enumerate(offsets)
        ]
        if not any(scored):
            scored = [index > 0 for index in range(len(ids))]
        encoded.append(Encoded(tuple(ids), tuple(scored)))
    return encoded


@dataclass
class Scorer:
    """A loaded causal LM and the device and batch budget it is scored with."""

    model: Any
    device: str
    tokens_per_batch: int


def load_scorer(model_dir: Path, device: str, tokens_per_batch: int) -> Scorer:
    """``model_dir`` loaded for scoring (bf16 on a GPU, float32 on a CPU), in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM

    from posttrainbench._hf_quiet import quiet_transformers

    quiet_transformers()  # the audit reports its own progress
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        check_loadable(model_dir)  # no pickles, no absurd sizes: before the loader runs
        model = AutoModelForCausalLM.from_pretrained(
            str(model_dir), dtype=dtype, trust_remote_code=False
        )
    except Exception as error:
        raise LikelihoodError(f"{model_dir} does not load as a causal LM: {error}") from error
    model.to(device)
    model.eval()
    return Scorer(model, device, tokens_per_batch)


def _batches(order: list[int], lengths: list[int], budget: int) -> Iterator[list[int]]:
    """Indices grouped so that (longest length x batch size) stays within ``budget``."""
    batch: list[int] = []
    for index in order:
        if batch and lengths[index] * (len(batch) + 1) > budget:
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch


def item_log_likelihoods(scorer: Scorer, encoded: Sequence[Encoded]) -> npt.NDArray[np.float64]:
    """Mean log-probability of each item's scored tokens under ``scorer``'s model."""
    import numpy as np
    import torch

    lengths = [len(item.ids) for item in encoded]
    order = sorted(range(len(encoded)), key=lambda index: -lengths[index])
    result = np.zeros(len(encoded), dtype=np.float64)
    vocab = scorer.model.get_input_embeddings().num_embeddings
    if any(max(item.ids, default=0) >= vocab for item in encoded):
        raise LikelihoodError(f"The model's vocabulary ({vocab}) is smaller than the tokenizer's")
    with torch.inference_mode():
        for batch in _batches(order, lengths, scorer.tokens_per_batch):
            result[batch] = _score_batch(scorer, [encoded[i] for i in batch])
    return result


def _score_batch(scorer: Scorer, items: list[Encoded]) -> list[float]:
    import torch

    width = max(len(item.ids) for item in items)
    ids = torch.zeros((len(items), width), dtype=torch.long)
    attention = torch.zeros((len(items), width), dtype=torch.long)
    scored = torch.zeros((len(items), width), dtype=torch.bool)
    for row, item in enumerate(items):
        ids[row, : len(item.ids)] = torch.tensor(item.ids)
        attention[row, : len(item.ids)] = 1
        scored[row, : len(item.ids)] = torch.tensor(item.scored)
    ids, attention, scored = (t.to(scorer.device) for t in (ids, attention, scored))
    logits = scorer.model(input_ids=ids, attention_mask=attention).logits[:, :-1]
    log_probs = _token_log_probs(logits, ids[:, 1:])
    mask = scored[:, 1:].float()
    means = (log_probs * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return [float(value) for value in means.cpu()]


def _token_log_probs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Log p(target) per position, computed in float32 a few rows at a time."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - the usual name

    rows_per_chunk = max(1, _LOGIT_ELEMENTS // max(1, logits.shape[1] * logits.shape[2]))
    chunks = []
    for start in range(0, logits.shape[0], rows_per_chunk):
        part = logits[start : start + rows_per_chunk].float()
        wanted = targets[start : start + rows_per_chunk]
        losses = F.cross_entropy(part.transpose(1, 2), wanted, reduction="none")
        chunks.append(-losses)
    return torch.cat(chunks)


def free(scorer: Scorer) -> None:
    """Release the model's memory (the next model is loaded only after).

    A model is freed by reference counting as soon as ``scorer`` lets go of it; a full
    garbage collection runs only when something still holds it (a reference cycle): in a
    process that imported transformers and inspect-ai one costs about 1.3 s of CPU, twice
    per audited trial.
    """
    import gc
    import weakref

    model = weakref.ref(scorer.model)
    scorer.model = None
    if model() is not None:
        gc.collect()
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
