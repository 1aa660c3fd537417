"""Grouped-query decode attention: the same function as transformers' SDPA path."""

from __future__ import annotations

from pathlib import Path

from posttrainbench.evaluation._grouped_attention import (
    ATTENTION_NAME,
    grouped_attention_forward,
    grouped_decode_attention,
)


def test_a_decode_step_attends_like_sdpa_with_copied_heads() -> None:
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    torch.manual_seed(0)
    module = torch.nn.Module().eval()
    module.num_key_value_groups = 4  # type: ignore[assignment]
    batch, kv_heads, keys, dim = 3, 2, 11, 8
    query = torch.randn(batch, kv_heads * 4, 1, dim, dtype=torch.float64)
    key, value = (torch.randn(batch, kv_heads, keys, dim, dtype=torch.float64) for _ in "kv")
    mask = torch.ones(batch, 1, 1, keys, dtype=torch.bool)
    mask[0, ..., :4] = False  # left padding
    mask[2, ..., 7:] = False  # cache slots not written yet
    ref, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=0.3)
    out, _ = grouped_attention_forward(module, query, key, value, mask, scaling=0.3)
    assert out.shape == ref.shape == (batch, 1, kv_heads * 4, dim)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    prompt = torch.randn(batch, kv_heads * 4, 5, dim, dtype=torch.float64)
    causal = torch.ones(batch, 1, 5, keys, dtype=torch.bool).tril()
    torch.testing.assert_close(  # a prompt is SDPA's own
        grouped_attention_forward(module, prompt, key, value, causal)[0],
        sdpa_attention_forward(module, prompt, key, value, causal)[0],
    )


def test_the_model_uses_it_inside_the_block_only(tiny_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    ids = torch.tensor([[7, 8, 9, 10, 11]])
    with torch.inference_mode():
        plain = model(input_ids=ids).logits
        with grouped_decode_attention(model):
            assert model.config._attn_implementation == ATTENTION_NAME
            grouped = model(input_ids=ids).logits
    assert model.config._attn_implementation == "sdpa"
    torch.testing.assert_close(grouped, plain)


def test_key_ranges_attend_like_the_mask_they_stand_for() -> None:
    import torch

    torch.manual_seed(1)
    module = torch.nn.Module().eval()
    query = torch.randn(3, 4, 1, 8, dtype=torch.float64)
    key, value = (torch.randn(3, 2, 9, 8, dtype=torch.float64) for _ in "kv")
    start = torch.tensor([0, 3, 5], dtype=torch.int32)
    count = torch.tensor([9, 4, 1], dtype=torch.int32)
    mask = torch.zeros(3, 1, 1, 9, dtype=torch.bool)
    for row, (first, n) in enumerate(zip(start.tolist(), count.tolist(), strict=True)):
        mask[row, ..., first : first + n] = True
    ref, _ = grouped_attention_forward(module, query, key, value, mask)
    everything = torch.ones_like(mask)  # the ranges replace the mask
    out, _ = grouped_attention_forward(
        module, query, key, value, everything, ptb_key_start=start, ptb_key_count=count
    )
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
