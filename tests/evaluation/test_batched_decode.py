"""The batched ``hf`` engine: same answers as inspect's ``hf`` path, seeds per request."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily
from posttrainbench.errors import UserError
from posttrainbench.evaluation import evaluate_model
from posttrainbench.evaluation._batched_decode import DecodeSettings, Request, decode_all
from posttrainbench.evaluation._sampling import SamplingParams, counter_uniform
from posttrainbench.evaluation.engine import hf_decode_settings
from posttrainbench.evaluation.protocol import FINAL_SEEDS

SAMPLING = SamplingParams(temperature=1.0, top_p=0.9, top_k=50, min_p=0.01, repetition_penalty=1.2)


def _completions(model_dir: Path, log_dir: Path) -> dict[str, str]:
    from inspect_ai.log import read_eval_log

    metrics = evaluate_model(
        model_dir,
        get_benchmark("arith-mini"),
        ModelFamily.QWEN3,
        log_dir=log_dir,
        limit=6,
        provider="hf",
        batch_size=4,
        protocol="greedy",
    )
    assert metrics.log_file is not None
    log = read_eval_log(str(log_dir / metrics.log_file))
    return {str(s.id): s.output.completion for s in log.samples or []}


def test_batched_engine_answers_as_the_inspect_path_greedy(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_HF_ENGINE", "inspect")
    plain = _completions(tiny_model, tmp_path / "plain")
    monkeypatch.setenv("PTB_HF_ENGINE", "batched")
    batched = _completions(tiny_model, tmp_path / "batched")
    assert len(plain) == 6 and any(len(text) > 5 for text in plain.values())
    assert batched == plain


def test_engine_choice_defaults_by_device_and_rejects_unknown_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert hf_decode_settings(32, "cuda:0") == {
        "device": "cuda:0",
        "batch_size": 256,
        "engine": "batched",
    }
    assert "engine" not in hf_decode_settings(8, "cpu")
    monkeypatch.setenv("PTB_HF_BATCH_SIZE", "64")
    assert hf_decode_settings(32, "cuda:0")["batch_size"] == 64
    monkeypatch.setenv("PTB_HF_ENGINE", "fast")
    with pytest.raises(UserError, match="PTB_HF_ENGINE"):
        hf_decode_settings(8, "cpu")


@pytest.fixture(scope="module")
def model_and_prompts(tiny_model: Path) -> tuple[object, list[list[int]]]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    prompts = [[5 + (i * 7 + j) % 40 for j in range(3 + 5 * i)] for i in range(5)]
    return model, prompts


def test_a_request_samples_the_same_tokens_in_any_batch(
    model_and_prompts: tuple[object, list[list[int]]],
) -> None:
    model, prompts = model_and_prompts
    requests = [Request(p, 1000 + i, 12) for i, p in enumerate(prompts)]
    kwargs = {"pad_id": 0, "stop_ids": [0]}
    alone = decode_all(model, requests, DecodeSettings(2, SAMPLING), **kwargs)  # type: ignore[arg-type]
    mixed = decode_all(model, requests[::-1], DecodeSettings(3, SAMPLING), **kwargs)[::-1]  # type: ignore[arg-type]
    assert alone == mixed
    reseeded = [r._replace(seed=r.seed + 1) for r in requests]
    other = decode_all(model, reseeded, DecodeSettings(2, SAMPLING), **kwargs)  # type: ignore[arg-type]
    assert other != alone  # the seed matters


def test_greedy_batched_decoding_equals_eager_generate(
    model_and_prompts: tuple[object, list[list[int]]],
) -> None:
    import torch

    model, prompts = model_and_prompts
    fast = decode_all(
        model,  # type: ignore[arg-type]
        [Request(p, 0, 10) for p in prompts],
        DecodeSettings(batch_size=3),
        pad_id=0,
        stop_ids=[0],
    )
    for prompt, tokens in zip(prompts, fast, strict=True):
        ref = model.generate(  # type: ignore[attr-defined]
            torch.tensor([prompt]), max_new_tokens=10, do_sample=False, eos_token_id=0
        )[0, len(prompt) :].tolist()
        assert tokens == ref


def test_counter_noise_is_a_function_of_seed_step_and_token() -> None:
    import torch

    seeds = torch.tensor([1, 2, 1])
    u = counter_uniform(seeds, 3, 1000)
    assert torch.equal(u[0], u[2]) and not torch.equal(u[0], u[1])
    assert not torch.equal(u[0], counter_uniform(seeds, 4, 1000)[0])
    assert float(u.min()) > 0.0 and float(u.max()) < 1.0
    assert abs(float(u.mean()) - 0.5) < 0.02  # 3000 draws: about uniform


def test_the_benchmark_uses_the_protocol_seeds() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import gpu_eval_decode

    assert gpu_eval_decode.FINAL_SEEDS == FINAL_SEEDS


@pytest.mark.gpu
def test_compiled_cuda_decoding_equals_the_eager_loop(tiny_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).cuda().eval()
    requests = [Request([5 + j % 30 for j in range(4 + 9 * i)], i, 16) for i in range(6)]
    runs = [
        decode_all(model, requests, DecodeSettings(4, compile=flag), pad_id=0, stop_ids=[0])
        for flag in (True, False)
    ]
    assert runs[0] == runs[1]


def test_sampled_tokens_equal_a_plain_loop_without_padding_or_cache(
    model_and_prompts: tuple[object, list[list[int]]],
) -> None:
    import torch

    from posttrainbench.evaluation._sampling import next_tokens

    model, prompts = model_and_prompts
    sampling = SamplingParams(temperature=1.0)
    requests = [Request(p, 50 + i, 12) for i, p in enumerate(prompts)]
    fast = decode_all(model, requests, DecodeSettings(3, sampling), pad_id=0, stop_ids=[])  # type: ignore[arg-type]
    for request, tokens in zip(requests, fast, strict=True):
        ids, seed = list(request.prompt), torch.tensor([request.seed])
        for step in range(12):
            with torch.inference_mode():
                logits = model(input_ids=torch.tensor([ids])).logits[:, -1, :]  # type: ignore[operator]
            ids.append(int(next_tokens(logits, sampling, seed, step)[0]))
        assert tokens == ids[len(request.prompt) :]
