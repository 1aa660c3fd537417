"""How the hf provider decodes: eager on CPU; static cache (compiled) on CUDA; recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily
from posttrainbench.evaluation import evaluate_model
from posttrainbench.evaluation.engine import _pinned_generation_config, hf_decode_settings
from posttrainbench.evaluation.metrics import Metrics


def test_gpu_settings_use_the_static_cache_and_bucketed_prompts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_HF_ENGINE", "inspect")
    assert hf_decode_settings(32, "cuda:0") == {
        "device": "cuda:0",
        "batch_size": 32,
        "cache_implementation": "static",
        "pad_to_multiple_of": 64,
    }
    assert hf_decode_settings(8, "cpu") == {"device": "cpu", "batch_size": 8}
    monkeypatch.setenv("PTB_HF_STATIC_CACHE", "0")
    assert hf_decode_settings(8, "cuda:0") == {"device": "cuda:0", "batch_size": 8}
    assert _pinned_generation_config([1], 16, "static").cache_implementation == "static"
    assert _pinned_generation_config([1], 16).cache_implementation is None


def test_cpu_evaluation_records_eager_decoding(tiny_model: Path, tmp_path: Path) -> None:
    metrics = evaluate_model(
        tiny_model,
        get_benchmark("arith-mini"),
        ModelFamily.QWEN3,
        log_dir=tmp_path,
        limit=2,
        provider="hf",
        batch_size=4,
    )
    assert metrics.decode == {"device": "cpu", "batch_size": 4}
    assert Metrics.model_validate(json.loads(metrics.model_dump_json())).decode == metrics.decode


@pytest.mark.gpu
def test_cuda_evaluation_decodes_with_the_batched_engine(tiny_model: Path, tmp_path: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    metrics = evaluate_model(
        tiny_model,
        get_benchmark("arith-mini"),
        ModelFamily.QWEN3,
        log_dir=tmp_path,
        limit=20,
        provider="hf",
        batch_size=8,
    )
    assert metrics.n == 20
    assert metrics.decode["engine"] == "batched"
    assert str(metrics.decode["device"]).startswith("cuda")


def test_a_toy_model_on_cpu_decodes_every_sample_in_one_batch(
    tiny_model: Path, tmp_path: Path
) -> None:
    metrics = evaluate_model(
        tiny_model, get_benchmark("arith-mini"), ModelFamily.QWEN3, log_dir=tmp_path, limit=5
    )
    assert metrics.decode == {"device": "cpu", "batch_size": 5}
