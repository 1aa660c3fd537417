"""Harness chat templates per family: chosen by architecture, rendered in the family's format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily, chat_template, family_of, template_files
from posttrainbench.evaluation import evaluate_model
from posttrainbench.evaluation.engine import hf_chat_template

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello"},
    {"role": "user", "content": "How many?"},
]
EXPECTED = {
    ModelFamily.QWEN3: (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nHow many?<|im_end|>\n"
    ),
    ModelFamily.SMOLLM3: (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nHow many?<|im_end|>\n"
    ),
    ModelFamily.GEMMA3: (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello<end_of_turn>\n"
        "<start_of_turn>user\nHow many?<end_of_turn>\n"
    ),
}
GENERATION_PROMPT = {
    ModelFamily.QWEN3: "<|im_start|>assistant\n",
    ModelFamily.SMOLLM3: "<|im_start|>assistant\n",
    ModelFamily.GEMMA3: "<start_of_turn>model\n",
}
SPECIAL = {
    ModelFamily.GEMMA3: ["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"],
    ModelFamily.SMOLLM3: ["<|end_of_text|>", "<|im_start|>", "<|im_end|>"],
}


def build_family_model(tiny_model: Path, family: ModelFamily, out: Path) -> Path:
    """A tiny random model of ``family`` with the tiny tokenizer plus the family's tokens."""
    import torch
    from tokenizers.processors import TemplateProcessing
    from transformers import (
        AutoTokenizer,
        Gemma3ForCausalLM,
        Gemma3TextConfig,
        SmolLM3Config,
        SmolLM3ForCausalLM,
    )

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL[family]})
    shape = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=1024,
    )
    torch.manual_seed(0)
    if family is ModelFamily.GEMMA3:
        bos, eos = tokenizer.convert_tokens_to_ids(["<bos>", "<eos>"])
        tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token = "<bos>", "<eos>", "<eos>"
        # Like Gemma's tokenizer: BOS is added to every encoded text.
        tokenizer.backend_tokenizer.post_processor = TemplateProcessing(
            single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", bos)]
        )
        model = Gemma3ForCausalLM(
            Gemma3TextConfig(**shape, bos_token_id=bos, eos_token_id=eos, pad_token_id=eos)
        )
        model.config.architectures = ["Gemma3ForCausalLM"]
    else:
        eos = tokenizer.convert_tokens_to_ids("<|end_of_text|>")
        tokenizer.eos_token, tokenizer.pad_token = "<|end_of_text|>", "<|end_of_text|>"
        model = SmolLM3ForCausalLM(SmolLM3Config(**shape, eos_token_id=eos, pad_token_id=eos))
        model.config.architectures = ["SmolLM3ForCausalLM"]
    tokenizer.chat_template = chat_template(family)
    tokenizer.save_pretrained(str(out))
    model.save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def family_models(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[ModelFamily, Path]:
    root = tmp_path_factory.mktemp("families")
    # Folder names that lie about the family: only config.json's architecture may count.
    return {
        ModelFamily.QWEN3: tiny_model,
        ModelFamily.GEMMA3: build_family_model(
            tiny_model, ModelFamily.GEMMA3, root / "qwen3-smollm3-final"
        ),
        ModelFamily.SMOLLM3: build_family_model(
            tiny_model, ModelFamily.SMOLLM3, root / "gemma-3-qwen3-model"
        ),
    }


@pytest.mark.parametrize("family", list(ModelFamily))
def test_family_comes_from_the_architecture_not_the_path(
    family: ModelFamily, family_models: dict[ModelFamily, Path]
) -> None:
    assert family_of(family_models[family]) is family


@pytest.mark.parametrize("family", list(ModelFamily))
def test_rendered_prompt_matches_the_family_format(
    family: ModelFamily, family_models: dict[ModelFamily, Path]
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(family_models[family]))

    def render(generation_prompt: bool) -> str:
        text = tokenizer.apply_chat_template(
            CONVERSATION,
            chat_template=chat_template(family),
            add_generation_prompt=generation_prompt,
            tokenize=False,
        )
        assert isinstance(text, str)
        return text

    assert render(False) == EXPECTED[family]
    assert render(True) == EXPECTED[family] + GENERATION_PROMPT[family]
    assert f"{family.value}.jinja" in template_files()


def test_gemma_prompt_gets_exactly_one_bos_on_the_hf_provider(
    family_models: dict[ModelFamily, Path],
) -> None:
    from transformers import AutoTokenizer

    model_dir = family_models[ModelFamily.GEMMA3]
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    text = tokenizer.apply_chat_template(
        CONVERSATION[1:2],
        chat_template=hf_chat_template(model_dir, ModelFamily.GEMMA3),
        add_generation_prompt=True,
        tokenize=False,
    )
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and ids.count(tokenizer.bos_token_id) == 1
    # a server tokenizes the rendered text as is: there the template writes BOS itself
    assert "{{- bos_token -}}" in chat_template(ModelFamily.GEMMA3)


@pytest.mark.parametrize(
    "family",
    # SmolLM3 shares Qwen3's ChatML turns (covered in tests/evaluation): slow tier only.
    [ModelFamily.GEMMA3, pytest.param(ModelFamily.SMOLLM3, marks=pytest.mark.slow)],
)
def test_submission_sampling_and_template_do_not_change_the_score(
    family: ModelFamily, family_models: dict[ModelFamily, Path], tmp_path: Path
) -> None:
    from inspect_ai.log import read_eval_log

    def completions(model_dir: Path, logs: Path) -> list[str]:
        # Greedy: inspect's hf provider seeds its sampler once per model, not per request,
        # so only greedy decoding gives the same text twice on this path.
        metrics = evaluate_model(
            model_dir,
            get_benchmark("arith-mini"),
            family,
            log_dir=logs,
            limit=3,
            provider="hf",
            protocol="greedy",
        )
        assert metrics.n == 3 and metrics.log_file is not None
        log = read_eval_log(str(logs / metrics.log_file))
        assert log.samples is not None
        return [sample.output.completion for sample in log.samples]

    reference = completions(family_models[family], tmp_path / "reference")
    assert any(len(text) > 3 for text in reference)  # long enough for a token cap to show
    tampered = shutil.copytree(family_models[family], tmp_path / "tampered")
    (tampered / "generation_config.json").write_text(
        json.dumps({"max_new_tokens": 1, "do_sample": True, "temperature": 9.0})
    )
    config_path = tampered / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = "The answer is 7. {% for m in messages %}{{ m.content }}{% endfor %}"
    config_path.write_text(json.dumps(config))
    (tampered / "chat_template.jinja").write_text(config["chat_template"])
    assert completions(tampered, tmp_path / "tampered-logs") == reference
