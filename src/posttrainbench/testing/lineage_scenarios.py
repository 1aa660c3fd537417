"""Honest and cheating submissions built from the tiny model, for the lineage detector.

The real situation, in miniature: a base model B, its instruct model I (B trained
further), an honest submission (B + a short fine-tune) and the cheats the lineage
detector must catch: the instruct model fine-tuned instead of the base, a copy of it, an
unrelated model (another random init) and a changed architecture. Training is a plain
PyTorch loop on the tiny ``test`` preset, so everything builds in seconds on a CPU.

The red-team corpus and the lineage tests share these builders; the detector's default
thresholds are calibrated on them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from posttrainbench.benchmarks import arith
from posttrainbench.testing.tiny_model import build_tiny_model

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "LineageScenarios",
    "build_lineage_scenarios",
    "fine_tune",
    "fine_tune_lora",
    "grow_layers",
]

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@dataclass(frozen=True)
class LineageScenarios:
    """Checkpoint directories of one scenario set (see :func:`build_lineage_scenarios`)."""

    base: Path
    """B: the tiny random base model."""
    instruct: Path
    """I: B trained much further (stands for the instruct model in the HF cache)."""
    honest: Path
    """F: B + a short fine-tune. Must stay clean."""
    instruct_finetuned: Path
    """Cheat: I + the same short fine-tune as F."""
    instruct_copy: Path
    """Cheat: a byte copy of I."""
    other_init: Path
    """Cheat: the same architecture with another random initialisation."""
    architecture_change: Path
    """Cheat: B with one more decoder layer."""


def build_lineage_scenarios(root: Path, *, seed: int = 0) -> LineageScenarios:
    """Build every scenario checkpoint under ``root`` (a few seconds on a CPU).

    Args:
        root: Directory to create the checkpoints in (one subdirectory each).
        seed: Seed of the base model; the unrelated model uses ``seed + 1``.
    """
    base = build_tiny_model(root / "base", seed=seed, preset="test")
    instruct = fine_tune(base, root / "instruct", steps=150, learning_rate=3e-5, data_seed=1)
    honest = fine_tune(base, root / "honest", steps=30, learning_rate=1e-5, data_seed=2)
    instruct_finetuned = fine_tune(
        instruct, root / "instruct_finetuned", steps=30, learning_rate=1e-5, data_seed=2
    )
    instruct_copy = root / "instruct_copy"
    shutil.copytree(instruct, instruct_copy, dirs_exist_ok=True)
    other_init = build_tiny_model(root / "other_init", seed=seed + 1, preset="test")
    architecture_change = grow_layers(base, root / "architecture_change")
    return LineageScenarios(
        base=base,
        instruct=instruct,
        honest=honest,
        instruct_finetuned=instruct_finetuned,
        instruct_copy=instruct_copy,
        other_init=other_init,
        architecture_change=architecture_change,
    )


def fine_tune(
    model_dir: Path,
    out_dir: Path,
    *,
    steps: int,
    learning_rate: float,
    data_seed: int = 0,
    batch_size: int = 8,
) -> Path:
    """Full fine-tune of a causal LM on arith *training* items (plain next-token loss).

    Args:
        model_dir: Checkpoint to start from.
        out_dir: Where to save the result (weights, config and tokenizer).
        steps: Optimiser steps (AdamW).
        learning_rate: Constant learning rate.
        data_seed: Seed of the training items drawn and of the batch order.
        batch_size: Sequences per step.

    Returns:
        ``out_dir``.
    """
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(data_seed)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    _train(model, model_dir, model.parameters(), steps, learning_rate, data_seed, batch_size)
    model.save_pretrained(out_dir)
    _copy_tokenizer(model_dir, out_dir)
    return out_dir


def fine_tune_lora(
    model_dir: Path,
    out_dir: Path,
    *,
    steps: int = 40,
    learning_rate: float = 3e-4,
    data_seed: int = 0,
    rank: int = 4,
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "up_proj"),
    base_reference: str | None = None,
) -> Path:
    """Train a LoRA adapter with PEFT on arith training items and save the adapter folder.

    Needs the ``peft`` package (in the ``dev`` extra).

    Args:
        model_dir: Base checkpoint the adapter is trained on.
        out_dir: Where to save ``adapter_config.json`` and ``adapter_model.safetensors``.
        steps: Optimiser steps.
        learning_rate: Constant learning rate.
        data_seed: Seed of the training items and of the LoRA initialisation.
        rank: LoRA rank (alpha is twice the rank).
        target_modules: Module names to adapt (``embed_tokens`` works too).
        base_reference: ``base_model_name_or_path`` to record; ``str(model_dir)`` if None.

    Returns:
        ``out_dir``.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(data_seed)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules=list(target_modules),
    )
    peft_model = get_peft_model(model, config)
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    _train(peft_model, model_dir, trainable, steps, learning_rate, data_seed, batch_size=8)
    peft_model.save_pretrained(out_dir)
    if base_reference is not None:
        import json

        config_path = out_dir / "adapter_config.json"
        adapter_config = json.loads(config_path.read_text(encoding="utf-8"))
        adapter_config["base_model_name_or_path"] = base_reference
        config_path.write_text(json.dumps(adapter_config, indent=2), encoding="utf-8")
    return out_dir


def grow_layers(model_dir: Path, out_dir: Path, *, extra_layers: int = 1) -> Path:
    """The model of ``model_dir`` with ``extra_layers`` more (randomly initialised) layers."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_dir)
    config.num_hidden_layers += extra_layers
    if getattr(config, "layer_types", None):
        config.layer_types = [*config.layer_types, *[config.layer_types[-1]] * extra_layers]
    original = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    torch.manual_seed(0)
    grown = AutoModelForCausalLM.from_config(config)
    grown.load_state_dict(original.state_dict(), strict=False)
    grown.save_pretrained(out_dir)
    _copy_tokenizer(model_dir, out_dir)
    return out_dir


def _train(
    model: PreTrainedModel,
    model_dir: Path,
    parameters: object,
    steps: int,
    learning_rate: float,
    data_seed: int,
    batch_size: int,
) -> None:
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    items = arith.train_split(steps * batch_size, seed=1000 + data_seed)
    texts = [f"{item.question}\n{arith.answer_text(item.answer)}" for item in items]
    optimizer = torch.optim.AdamW(parameters, lr=learning_rate)
    # One thread: on a small shared CPU, intra-op threads fighting over cores make a step
    # of this tiny model about 20x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _steps(model, tokenizer, optimizer, texts, steps, batch_size)
    finally:
        torch.set_num_threads(threads)
    model.eval()


def _steps(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    optimizer: torch.optim.Optimizer,
    texts: list[str],
    steps: int,
    batch_size: int,
) -> None:
    model.train()
    for step in range(steps):
        batch = tokenizer(
            texts[step * batch_size : (step + 1) * batch_size],
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=64,
        )
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def _copy_tokenizer(source: Path, target: Path) -> None:
    for name in _TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
