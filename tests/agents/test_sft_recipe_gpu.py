"""The reference recipe's GPU path (opt-in: ``pytest -m gpu tests/agents``)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from posttrainbench.agents import sft_recipe
from posttrainbench.benchmarks import arith

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _one_cuda_device(monkeypatch: pytest.MonkeyPatch) -> None:
    # The recipe trains in one process on one GPU, as its CLI arranges with use_one_gpu();
    # set before CUDA is initialised, restored after the test.
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0" if visible is None else visible.split(",")[0])
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")


def _saved_dtypes(model_dir: Path) -> set[str]:
    from safetensors import safe_open

    with safe_open(str(model_dir / "model.safetensors"), framework="pt") as weights:
        return {str(weights.get_tensor(name).dtype) for name in weights.keys()}  # noqa: SIM118


def _generates(model_dir: Path) -> bool:
    """Whether the saved model loads on the GPU and generates new tokens."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, device_map="cuda")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ids = tokenizer("1 + 1 =", return_tensors="pt").input_ids.to("cuda")
    out = model.generate(ids, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    return bool(out.shape[1] == ids.shape[1] + 4)


def test_recipe_trains_in_bf16_on_the_gpu_and_saves_a_loadable_model(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = sft_recipe.train_settings()
    assert settings.on_gpu and settings.bf16 and settings.fused_adamw
    records = arith.training_messages(arith.train_split(160))
    out = sft_recipe.train_sft(tiny_model, records, tmp_path / "final_model", max_steps=10)
    log = capsys.readouterr().out
    assert "sft: cuda, bf16" in log
    loss = float(log.split("sft: step 10 loss ")[1].split()[0])
    assert 0 < loss < 100  # finite: bf16 training did not blow up
    assert _saved_dtypes(out) == {"torch.bfloat16"}
    assert _saved_dtypes(tiny_model) != {"torch.bfloat16"}  # the dtype is the recipe's doing
    assert _generates(out)


def test_lora_with_selective_checkpointing_saves_a_merged_model(
    tiny_model: Path, tmp_path: Path
) -> None:
    pytest.importorskip("peft")
    settings = replace(sft_recipe.train_settings(), lora_rank=4, checkpoint_fraction=0.5)
    records = arith.training_messages(arith.train_split(32))
    out = sft_recipe.train_sft(
        tiny_model, records, tmp_path / "final_model", max_steps=3, settings=settings
    )
    assert not (out / "adapter_config.json").exists()
    assert _saved_dtypes(out) == {"torch.bfloat16"}
    assert _generates(out)


def test_packed_attention_on_the_gpu_matches_masked_attention_in_float64() -> None:
    import torch

    from posttrainbench.agents import _packing

    assert _packing.varlen_kernel() is not None  # PyTorch 2.9+: no flash-attn wheel needed
    lengths = [300, 17, 1024, 5]
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
    module = torch.nn.Module()
    module.num_key_value_groups = 4  # type: ignore[assignment]
    shapes = ((1, 16, sum(lengths), 64), (1, 4, sum(lengths), 64), (1, 4, sum(lengths), 64))
    q, k, v = (torch.randn(s, device="cuda", dtype=torch.bfloat16) for s in shapes)
    fast, _ = _packing.packed_attention(module, q, k, v, None, cu_seq_lens_q=cu.cuda())
    exact, _ = _packing.packed_attention(
        module, q.double(), k.double(), v.double(), None, cu_seq_lens_q=cu.cuda()
    )
    assert float((fast.double() - exact).norm() / exact.norm()) < 1e-2  # bf16 operands


def test_the_gpu_recipe_packs_records(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sft_recipe.train_settings().packing
    records = arith.training_messages(arith.train_split(64))
    out = sft_recipe.train_sft(tiny_model, records, tmp_path / "final_model", max_steps=2)
    assert "packed rows of 1024" in capsys.readouterr().out
    assert _generates(out)  # saved with plain attention: loads anywhere
