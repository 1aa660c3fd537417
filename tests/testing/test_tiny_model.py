from __future__ import annotations

import json
from pathlib import Path

from posttrainbench.catalog import ModelFamily, chat_template, family_of
from posttrainbench.testing import build_tiny_model


def test_loads_offline_as_a_qwen3_model(tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((tiny_model / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["Qwen3ForCausalLM"]
    assert config["model_type"] == "qwen3"
    assert family_of(tiny_model) is ModelFamily.QWEN3
    assert (tiny_model / "model.safetensors").is_file()
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert model.num_parameters() < 200_000
    assert model.config.vocab_size == len(tokenizer)
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>"
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert im_end in model.generation_config.eos_token_id


def test_tokenizer_splits_digits_and_keeps_special_tokens(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokens = tokenizer.tokenize("<|im_start|>Mia has 125 pencils.<|im_end|>")
    assert tokens[0] == "<|im_start|>" and tokens[-1] == "<|im_end|>"
    assert ["1", "2", "5"] == [token for token in tokens if token.isdigit()]
    text = "Anything, even ünïcödé text: 42!"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_chat_template_renders_chatml(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert tokenizer.chat_template == chat_template(ModelFamily.QWEN3)
    messages = [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Yes."}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == (
        "<|im_start|>user\nHi?<|im_end|>\n"
        "<|im_start|>assistant\nYes.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_generates_greedily(tiny_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Mia has 3 apples."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert output.shape[1] <= inputs["input_ids"].shape[1] + 4


def test_same_seed_same_files_other_seed_other_weights(tmp_path: Path) -> None:
    first = build_tiny_model(tmp_path / "a", seed=3, preset="test")
    again = build_tiny_model(tmp_path / "b", seed=3, preset="test")
    other = build_tiny_model(tmp_path / "c", seed=4, preset="test")
    for name in ("model.safetensors", "tokenizer.json", "config.json", "generation_config.json"):
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    assert (first / "model.safetensors").read_bytes() != (other / "model.safetensors").read_bytes()
    assert (first / "tokenizer.json").read_bytes() == (other / "tokenizer.json").read_bytes()
