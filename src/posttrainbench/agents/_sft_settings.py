"""The reference recipe's training settings: precision, kernels and memory, per machine.

``sft_recipe`` trains with them; ``benchmarks/gpu_sft_throughput.py`` measured the GPU
choices. Torch, transformers and Liger are imported inside the functions that need them.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = [
    "TrainSettings",
    "checkpoint_fraction_for",
    "decoder_layers",
    "micro_batch_for",
    "prepare_model",
    "train_settings",
    "use_one_gpu",
]


@dataclass(frozen=True)
class TrainSettings:
    """How the recipe trains on the machine it runs on: precision, kernels, memory trade-offs.

    ``train_settings()`` picks them; ``benchmarks/gpu_sft_throughput.py`` measures variants
    through the same ``load_model`` and ``build_trainer`` the recipe uses.
    """

    on_gpu: bool
    """Train on the first CUDA device (else the CPU)."""
    bf16: bool
    """Weights, gradients and optimizer state in bfloat16 (else float32)."""
    micro_batch: int | None
    """Rows per forward pass; the rest of a batch is gradient accumulation (None: whole batch)."""
    checkpoint_fraction: float | None
    """Share of decoder layers whose activations are recomputed in the backward pass
    (None: as few as fit the GPU's memory, estimated from the model's size)."""
    liger: bool
    """Liger's fused RMSNorm, SwiGLU and RoPE kernels (TRL's chunked LM head is always on)."""
    fused_adamw: bool
    """The single-kernel CUDA AdamW."""
    lora_rank: int | None = None
    """Train a LoRA adapter of this rank on every linear layer, merged on save (None: full)."""
    compile: bool = False
    """Compile the model with ``torch.compile`` (the trainer's ``torch_compile``)."""
    max_length: int = 1024
    """Longest tokenized record; longer ones are truncated."""
    packing: bool = False
    """Pack records into rows of ``max_length`` tokens with document-masked attention
    (``_packing``), instead of padding each micro-batch to its longest record."""


def train_settings(*, on_gpu: bool | None = None) -> TrainSettings:
    """The recipe's settings: fp32 and plain kernels on a CPU, the measured best on a GPU.

    On a GPU: bf16 weights, gradients and AdamW state, Liger's kernels when installed,
    fused AdamW, TRL's chunked LM head (no full logits, so they don't bound the
    micro-batch), and activation checkpointing only for the layers whose activations don't
    fit. ``benchmarks/gpu_sft_throughput.py`` measured this on the Qwen3-4B shape at 2048
    tokens a row (one H200 capped at an H100's 79 GiB): 19.4 k tokens/s, 47 % MFU, with no
    layer recomputed at 4 rows a micro-batch, against 11.8 k (29 %) for plain PyTorch with
    full checkpointing at 8 rows. Records are packed into full rows with document-masked
    attention (``_packing``; ``benchmarks/gpu_packing.py``: 1.5 to 4.1 times the useful
    tokens/s of padded micro-batches on ragged rows).
    """
    if on_gpu is None:
        import torch

        on_gpu = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if not on_gpu:
        return TrainSettings(
            on_gpu=False,
            bf16=False,
            micro_batch=None,
            checkpoint_fraction=0.0,
            liger=False,
            fused_adamw=False,
        )
    return TrainSettings(
        on_gpu=True,
        bf16=True,
        micro_batch=_GPU_MICRO_BATCH,
        checkpoint_fraction=None,
        liger=_liger_available(),
        fused_adamw=True,
        packing=True,
    )


# Rows of up to max_length (1024) tokens: 8 fill an H100 well (about 8k tokens a pass).
_GPU_MICRO_BATCH = 8
# Memory of full fine-tuning in bf16: weights 2 + gradients 2 + AdamW moments 4 bytes.
_STATE_BYTES_PER_PARAM = 8
# Activations kept for backward, per token, layer and hidden unit, in bytes: measured 3.1
# to 3.5 MiB a token on the Qwen3-4B shape (hidden 2560, 36 layers), with and without Liger.
_ACTIVATION_BYTES = 40
# Share of the GPU's memory the estimate may plan for (allocator slack, CUDA context).
_MEMORY_HEADROOM = 0.85


def _liger_available() -> bool:
    """Whether Liger's kernels can be applied (they need Triton and a CUDA device)."""
    import importlib.util

    return importlib.util.find_spec("liger_kernel") is not None


def prepare_model(model: PreTrainedModel, settings: TrainSettings) -> None:
    """Apply the settings' kernels and activation checkpointing to a loaded ``model``."""
    if settings.liger:
        from liger_kernel.transformers import _apply_liger_kernel_to_instance

        # TRL computes the loss with its own chunked LM head: Liger's would replace it.
        _apply_liger_kernel_to_instance(
            model=model, fused_linear_cross_entropy=False, cross_entropy=False
        )
    fraction = settings.checkpoint_fraction
    if fraction is None:
        fraction = _checkpoint_fraction_that_fits(model, settings) if settings.on_gpu else 0.0
    if fraction > 0:
        with warnings.catch_warnings():
            # Renamed activation_checkpointing_enable in later transformers 5 releases.
            warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*deprecated")
            model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False}
            )
        layers = decoder_layers(model)
        # Recompute the first layers only; the last ones keep their activations.
        keep = len(layers) - round(fraction * len(layers))
        for layer in layers[len(layers) - keep :] if keep else []:
            layer.gradient_checkpointing = False
        model.config.use_cache = False


def _checkpoint_fraction_that_fits(model: PreTrainedModel, settings: TrainSettings) -> float:
    """``checkpoint_fraction_for`` this model on the current CUDA device."""
    import torch

    config = model.config.get_text_config()
    return checkpoint_fraction_for(
        gpu_bytes=torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory,
        num_parameters=model.num_parameters(),
        hidden_size=int(config.hidden_size),
        num_layers=int(config.num_hidden_layers),
        settings=settings,
    )


def checkpoint_fraction_for(
    *,
    gpu_bytes: int,
    num_parameters: int,
    hidden_size: int,
    num_layers: int,
    settings: TrainSettings,
) -> float:
    """The smallest share of layers (in eighths) to recompute so that training fits the GPU.

    Estimated for the largest micro-batch (``micro_batch`` rows of ``max_length`` tokens):
    weights, gradients and optimizer state, plus the activations of the layers that are
    not recomputed (a recomputed layer keeps only its input, counted as free).
    """
    state_bytes = _STATE_BYTES_PER_PARAM * (1 if settings.bf16 else 2)
    if settings.lora_rank is not None:
        state_bytes = 2 if settings.bf16 else 4  # frozen weights; the adapter is small
    free = _MEMORY_HEADROOM * gpu_bytes - state_bytes * num_parameters
    tokens = (settings.micro_batch or 1) * settings.max_length
    per_token = _ACTIVATION_BYTES * (1 if settings.bf16 else 2) * hidden_size * num_layers
    needed = tokens * per_token
    if needed <= free:
        return 0.0
    return min(1.0, math.ceil(8 * (1 - max(free, 0) / needed)) / 8)


def decoder_layers(model: PreTrainedModel) -> list[Any]:
    """The model's decoder layers, in order (the modules gradient checkpointing wraps)."""
    from transformers.modeling_layers import GradientCheckpointingLayer

    return [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]


def micro_batch_for(batch_size: int, most: int | None) -> int:
    """The largest divisor of ``batch_size`` up to ``most``: accumulation then sums exactly."""
    if most is None or most >= batch_size:
        return batch_size
    return max(d for d in range(1, most + 1) if batch_size % d == 0)


def use_one_gpu() -> None:
    """Outside a distributed launcher, make only the first GPU visible to this process.

    The recipe is one process; with several GPUs visible, transformers' Trainer would wrap
    the model in ``nn.DataParallel``, which TRL's SFTTrainer refuses. Effective only
    before CUDA is initialised (the CLI calls it first thing).
    """
    if "LOCAL_RANK" in os.environ or "WORLD_SIZE" in os.environ:
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = "0" if visible is None else visible.split(",")[0]
