from __future__ import annotations

import time
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


def test_benchmark_without_training_data_is_a_clear_error(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--base-model", str(tiny_model), "--output-dir", str(tmp_path / "out")]
    assert sft_recipe.main([*argv, "--benchmark", "gsm9k"]) == 2
    assert "Unknown benchmark 'gsm9k'" in capsys.readouterr().err


def test_default_learning_rate_depends_on_size() -> None:
    assert sft_recipe.default_learning_rate(400_000) > sft_recipe.default_learning_rate(10**9)
