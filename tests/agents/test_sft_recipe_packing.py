"""Packed training: per-record losses equal unpacked ones; packed and padded runs learn alike."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from posttrainbench.agents import _packing, sft_recipe
from posttrainbench.benchmarks import arith


def _token_losses(model: Any, ids: Any, **inputs: Any) -> Any:
    """Next-token cross-entropy of every position of a (1, n) batch, shape (n - 1,)."""
    import torch

    logits = model(input_ids=ids, **inputs).logits[0, :-1].float()
    return torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="none")


def test_packed_records_lose_exactly_what_they_lose_alone(tiny_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    generator = torch.Generator().manual_seed(0)
    lengths = [7, 19, 3, 12]
    records = [torch.randint(5, 100, (1, n), generator=generator) for n in lengths]
    with torch.no_grad():
        alone = [_token_losses(model, ids) for ids in records]
        _packing.use_packed_attention(model)
        packed = torch.cat(records, dim=1)
        positions = torch.cat([torch.arange(n) for n in lengths])[None]
        starts = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
        by_boundaries = _token_losses(
            model, packed, position_ids=positions, cu_seq_lens_q=starts, cu_seq_lens_k=starts
        )
        by_positions = _token_losses(model, packed, position_ids=positions)
        # Positions restarting without document masking would let records see each other.
        model.set_attn_implementation("sdpa")
        leaky = _token_losses(model, packed, position_ids=positions)
    offset = 0
    for n, expected in zip(lengths, alone, strict=True):
        # Within a record (its last token predicts the next record's first: skipped).
        for losses in (by_boundaries, by_positions):
            torch.testing.assert_close(losses[offset : offset + n - 1], expected)
        if offset:
            assert not torch.allclose(leaky[offset : offset + n - 1], expected, atol=1e-4)
        offset += n


def test_rows_per_step_hold_about_a_batch_of_records(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = [{"input_ids": list(range(100))} for _ in range(10)]
    assert _packing.packed_rows_per_step(tokenizer, rows, 32, 1024) == 3  # 3,200 tokens
    assert _packing.packed_rows_per_step(tokenizer, rows, 4, 1024) == 1  # never zero
    records = arith.training_messages(arith.train_split(8))
    assert _packing.packed_rows_per_step(tokenizer, records, 64, 64) > 1


def test_packed_rows_split_into_equal_micro_batches() -> None:
    assert _packing.rows_in_whole_micro_batches(13, 8) == 14  # 2 passes of 7, not 13 of 1
    assert _packing.rows_in_whole_micro_batches(7, 8) == 7
    assert _packing.rows_in_whole_micro_batches(17, 8) == 18  # 3 passes of 6
    assert _packing.rows_in_whole_micro_batches(5, None) == 5


def _held_out_loss(model_dir: Path, records: list[dict[str, Any]]) -> float:
    """Mean completion-token loss of ``model_dir`` on ``records`` (the harness's chat format)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    template = sft_recipe._harness_template(model_dir)
    losses = []
    for record in records:
        prompt = tokenizer.apply_chat_template(
            record["prompt"], chat_template=template, tokenize=False, add_generation_prompt=True
        )
        full = tokenizer.apply_chat_template(
            [*record["prompt"], *record["completion"]], chat_template=template, tokenize=False
        )
        ids = tokenizer(full, return_tensors="pt", add_special_tokens=False)["input_ids"]
        start = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        labels = ids.clone()
        labels[:, :start] = -100
        with torch.no_grad():
            losses.append(float(model(input_ids=ids, labels=labels).loss))
    return sum(losses) / len(losses)


def test_packed_and_padded_runs_of_the_recipe_learn_arith_alike(tmp_path: Path) -> None:
    from posttrainbench.testing import build_tiny_model

    base = build_tiny_model(tmp_path / "demo-base", seed=0, preset="demo")
    records = arith.training_messages(arith.train_split(640))
    held_out = arith.training_messages(arith.test_split()[:48])
    padded = sft_recipe.train_settings(on_gpu=False)
    before = _held_out_loss(base, held_out)
    after = {}
    for name, settings in (("padded", padded), ("packed", replace(padded, packing=True))):
        out = sft_recipe.train_sft(
            base, records, tmp_path / name, max_steps=40, batch_size=16, settings=settings
        )
        after[name] = _held_out_loss(out, held_out)
    assert after["padded"] < 0.5 * before, (before, after)  # the recipe learned at all
    # Same data per step, same schedule: the packed run ends where the padded one does.
    assert abs(after["packed"] - after["padded"]) <= 0.15 * after["padded"], after
