"""A tiny, randomly initialised Qwen3-shaped base model, built locally in seconds.

It stands in for ``Qwen/Qwen3-1.7B-Base`` wherever the real model cannot run: unit tests,
CI and the CPU demo. Like the real base model it has a byte-level BPE tokenizer with
single-digit number tokens, ``<|endoftext|>`` as end-of-sequence and padding token, and the
ChatML chat template. Its weights are random, so it scores about zero until trained.

The tokenizer is trained on arith *training* items plus generic words; the test split
never reaches it, so no test question is memorised by construction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from posttrainbench.benchmarks import arith
from posttrainbench.catalog import ModelFamily, chat_template

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast, Qwen3ForCausalLM

__all__ = ["SPECIAL_TOKENS", "build_tiny_model"]

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
"""Special tokens, in id order from 0 (end-of-text first, as in Qwen3)."""

_GENERIC_TEXT = (
    "the a an and or but if then so because of to in on at by for with from about as into "
    "is are was were be been has have had do does did can will would should could may might "
    "I you he she it we they me him her us them my your his its our their this that these "
    "what which who when where why how many much more most less few some any all each every "
    "yes no not one two three four five six seven eight nine ten hundred number answer "
    "question problem count total sum difference plus minus left now then first next last "
    "good new old big small long short time day year people way thing world life hand part "
    "say said make made go went get got know think see look come want give use find tell "
    "ask work call try feel leave put mean keep let begin help show hear play run move live "
    "system user assistant model please thank hello world example text word sentence."
)


@dataclass(frozen=True)
class _Preset:
    """Shape of the network and size of the tokenizer."""

    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int


_PRESETS: dict[str, _Preset] = {
    # Big enough to learn arith in about a minute of CPU training, small enough to be fast.
    "demo": _Preset(128, 256, 2, 4, 2, 32, 512),
    # About 0.1M parameters: loads and generates in a blink for unit tests.
    "test": _Preset(64, 128, 2, 4, 2, 16, 320),
}


def build_tiny_model(
    out_dir: Path,
    *,
    seed: int = 0,
    preset: Literal["demo", "test"] = "demo",
    greedy: bool = True,
) -> Path:
    """Write a random Qwen3-shaped model with a locally trained tokenizer to ``out_dir``.

    The directory loads offline with ``AutoModelForCausalLM.from_pretrained`` and
    ``AutoTokenizer.from_pretrained``; weights are safetensors. The same seed and preset
    always give the same files.

    Args:
        out_dir: Directory to create (or overwrite files in).
        seed: Seed of the weight initialisation.
        preset: ``"demo"`` (learns arith on a CPU in about a minute) or ``"test"``
            (about 0.1M parameters, for fast unit tests).
        greedy: Declare greedy decoding (``temperature: 0.0``) in the generation config,
            so the paper protocol decodes the toy once, as upstream does for a greedy model;
            False leaves the temperature unset (sampled at 1.0 over five seeds).

    Returns:
        ``out_dir``.
    """
    shape = _PRESETS[preset]
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer(shape.vocab_size)
    tokenizer.save_pretrained(str(out_dir))
    _build_model(shape, seed, len(tokenizer)).save_pretrained(str(out_dir))
    if greedy:
        # transformers refuses to *save* a temperature without sampling, but reads it; vLLM
        # and the paper protocol read it as "greedy" (below 1e-5).
        config_path = out_dir / "generation_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["temperature"] = 0.0
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    _write_provenance(out_dir, seed, preset)
    return out_dir


def _corpus() -> list[str]:
    """Tokenizer training text: arith training items, chat roles and generic words."""
    items = arith.train_split(2000)
    questions = [item.question for item in items]
    answers = [arith.answer_text(item.answer) for item in items]
    return [*questions, *answers, _GENERIC_TEXT, "user\nassistant\nsystem\n"]


def _build_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer with one token per digit, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=["<|im_start|>", "<|im_end|>"],
        model_max_length=2048,
    )
    tokenizer.chat_template = chat_template(ModelFamily.QWEN3)
    return tokenizer


def _build_model(shape: _Preset, seed: int, vocab_size: int) -> Qwen3ForCausalLM:
    """A randomly initialised Qwen3 causal LM that stops generating at ``<|im_end|>``."""
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    end_of_text, im_end = SPECIAL_TOKENS.index("<|endoftext|>"), SPECIAL_TOKENS.index("<|im_end|>")
    config = Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_key_value_heads,
        head_dim=shape.head_dim,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=end_of_text,
        eos_token_id=end_of_text,
        pad_token_id=end_of_text,
    )
    config.architectures = ["Qwen3ForCausalLM"]
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config)
    # Like Qwen3's chat models: a turn ends at <|im_end|>; the base model's eos also stops.
    model.generation_config = GenerationConfig(
        bos_token_id=end_of_text,
        eos_token_id=[im_end, end_of_text],
        pad_token_id=end_of_text,
    )
    return model


def _write_provenance(out_dir: Path, seed: int, preset: str) -> None:
    """Record how the model was made, so nobody mistakes it for a real checkpoint."""
    marker = {"built_by": f"{__name__}.build_tiny_model", "seed": seed, "preset": preset}
    (out_dir / "tiny_model.json").write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
