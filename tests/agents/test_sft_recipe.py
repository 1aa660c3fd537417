from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from posttrainbench.agents import sft_recipe
from posttrainbench.benchmarks import arith


def _weights(model_dir: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return dict(load_file(str(model_dir / "model.safetensors")))


def test_cli_trains_and_saves_a_loadable_model(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "final_model"
    argv = ["--base-model", str(tiny_model), "--benchmark", "arith", "--output-dir", str(out)]
    assert sft_recipe.main([*argv, "--steps", "3", "--train-size", "24", "--batch-size", "8"]) == 0
    assert "sft: 3 steps in" in capsys.readouterr().out
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(tiny_model).chat_template
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in model.generation_config.eos_token_id
    before, after = _weights(tiny_model), _weights(out)
    assert before.keys() == after.keys()
    assert any(not before[name].equal(after[name]) for name in before)  # type: ignore[attr-defined]
    assert not out.with_name("final_model.partial").exists()


def test_a_passed_deadline_stops_after_one_step_and_still_saves(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = arith.training_messages(arith.train_split(16))
    out = sft_recipe.train_sft(
        tiny_model, records, tmp_path / "out", deadline=time.time(), max_steps=1000, batch_size=4
    )
    assert "stopping at step 1" in capsys.readouterr().out
    assert (out / "model.safetensors").is_file()


def test_lora_with_selective_checkpointing_saves_a_merged_full_model(
    tiny_model: Path, tmp_path: Path
) -> None:
    pytest.importorskip("peft")
    settings = replace(
        sft_recipe.train_settings(on_gpu=False), lora_rank=4, checkpoint_fraction=0.5
    )
    records = arith.training_messages(arith.train_split(16))
    out = sft_recipe.train_sft(
        tiny_model, records, tmp_path / "out", max_steps=2, batch_size=8, settings=settings
    )
    before, after = _weights(tiny_model), _weights(out)
    assert before.keys() == after.keys()  # merged: no adapter tensors left
    assert any(not before[name].equal(after[name]) for name in before)  # type: ignore[attr-defined]


def test_cpu_settings_keep_the_plain_fp32_path() -> None:
    settings = sft_recipe.train_settings(on_gpu=False)
    assert not (settings.bf16 or settings.liger or settings.fused_adamw)
    assert settings.checkpoint_fraction == 0 and settings.micro_batch is None


def test_gpu_checkpointing_recomputes_only_what_does_not_fit() -> None:
    gpu = sft_recipe.train_settings(on_gpu=True)
    h100 = 80 * 10**9
    qwen3_4b = {"num_parameters": 4_022_468_096, "hidden_size": 2560, "num_layers": 36}
    assert gpu.checkpoint_fraction is None  # sized to the device when the model loads
    # 8 rows of 1024 tokens fit a 4B model on an H100 with nothing recomputed ...
    assert sft_recipe.checkpoint_fraction_for(gpu_bytes=h100, settings=gpu, **qwen3_4b) == 0
    # ... 16 rows of 2048 tokens do not, so some layers (not all) are recomputed ...
    long_rows = replace(gpu, micro_batch=16, max_length=2048)
    part = sft_recipe.checkpoint_fraction_for(gpu_bytes=h100, settings=long_rows, **qwen3_4b)
    assert 0 < part < 1
    # ... and with less memory, more of them.
    less = sft_recipe.checkpoint_fraction_for(gpu_bytes=h100 // 2, settings=long_rows, **qwen3_4b)
    assert part < less == 1


def test_benchmark_without_training_data_is_a_clear_error(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--base-model", str(tiny_model), "--output-dir", str(tmp_path / "out")]
    assert sft_recipe.main([*argv, "--benchmark", "gsm9k"]) == 2
    assert "Unknown benchmark 'gsm9k'" in capsys.readouterr().err


def test_default_learning_rate_depends_on_size() -> None:
    assert sft_recipe.default_learning_rate(400_000) > sft_recipe.default_learning_rate(10**9)


def test_the_cpu_trainer_takes_the_same_loss_as_trls_fused_head(
    tiny_model: Path, tmp_path: Path
) -> None:
    import datasets
    import torch
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    settings = sft_recipe.train_settings(on_gpu=False)
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    records = datasets.Dataset.from_list(arith.training_messages(arith.train_split(8)))
    model = sft_recipe.load_model(tiny_model, settings)
    trainer = sft_recipe.build_trainer(
        model, tokenizer, records, settings, scratch=tmp_path, max_steps=1,
        learning_rate=1e-3, batch_size=8,
    )  # fmt: skip
    assert type(trainer) is not SFTTrainer  # the CPU path's own loss
    batch = next(iter(trainer.get_train_dataloader()))
    labelled = int((batch["labels"][:, 1:] != -100).sum())
    model.train()  # as in a training step: both count the batch's tokens
    with torch.no_grad():
        ours = trainer.compute_loss(model, dict(batch), num_items_in_batch=labelled)
        trls = SFTTrainer.compute_loss(trainer, model, dict(batch), num_items_in_batch=labelled)
    assert torch.allclose(ours, trls, rtol=1e-4), (ours, trls)
    assert trainer._metrics["train"]["num_tokens"] == [2 * int(batch["attention_mask"].sum())]
