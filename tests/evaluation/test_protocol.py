"""The paper protocol: seeds, per-sample seeds, the greedy rule, the base model's sampling."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily
from posttrainbench.evaluation import evaluate_model
from posttrainbench.evaluation.protocol import (
    FINAL_SEEDS,
    Sampling,
    base_sampling,
    sample_seed,
    seeded_task,
    seeds_for,
)


def test_sample_seed_is_upstreams_hash() -> None:
    import hashlib

    digest = hashlib.sha256(b"72332:gsm8k-0001:1:0").digest()
    assert sample_seed(72332, "gsm8k-0001") == int.from_bytes(digest[:4], "little") & 0x7FFFFFFF
    seeds = {sample_seed(seed, item) for seed in FINAL_SEEDS for item in ("a", "b", "c")}
    assert len(seeds) == 15  # distinct across items and run seeds


def test_base_sampling_reads_what_vllm_would(tmp_path: Path) -> None:
    assert base_sampling(tmp_path) == Sampling()  # no file: vLLM's defaults, temperature 1
    (tmp_path / "generation_config.json").write_text(
        json.dumps({"temperature": 0.6, "top_p": 0.95, "top_k": 20, "do_sample": True})
    )
    sampling = base_sampling(tmp_path)
    assert (sampling.temperature, sampling.top_p, sampling.top_k) == (0.6, 0.95, 20)
    # transformers' default top_k (50) is not a setting vLLM picks up.
    (tmp_path / "generation_config.json").write_text(json.dumps({"top_k": 50}))
    assert base_sampling(tmp_path).top_k == -1


@pytest.mark.parametrize(
    ("benchmark", "temperature", "count"),
    [
        ("gsm8k", 1.0, 5),
        ("gsm8k", 0.0, 1),  # greedy: the seed only drives sampling
        ("gpqamain", 0.0, 5),  # its seed also shuffles the choices
        ("humaneval", 0.7, 5),
        ("arenahardwriting", 1.0, 1),  # judged: first seed only
        ("healthbench", 0.6, 1),
    ],
)
def test_seed_rules(benchmark: str, temperature: float, count: int) -> None:
    seeds = seeds_for(get_benchmark(benchmark), Sampling(temperature=temperature))
    assert seeds == FINAL_SEEDS[:count]


def test_gpqa_seed_shuffles_choices_and_keeps_the_answer() -> None:
    from inspect_ai.dataset import Sample

    gpqa = get_benchmark("gpqamain")
    sample = Sample(input="q", choices=["right", "w1", "w2", "w3"], target="A", id="rec1")
    orders = set()
    for seed in FINAL_SEEDS:
        shown = gpqa.for_seed(sample.model_copy(deep=True), seed)
        assert shown.choices is not None and isinstance(shown.target, str)
        assert shown.choices[ord(shown.target) - ord("A")] == "right"
        orders.add(tuple(shown.choices))
    assert len(orders) > 1
    again = gpqa.for_seed(sample.model_copy(deep=True), FINAL_SEEDS[0])
    assert again.choices == gpqa.for_seed(sample.model_copy(deep=True), FINAL_SEEDS[0]).choices


def test_seeded_task_repeats_each_item_per_seed() -> None:
    task = seeded_task(
        get_benchmark("arith-mini").task(limit=3), get_benchmark("arith-mini"), FINAL_SEEDS
    )
    ids = [sample.id for sample in task.dataset]
    assert len(ids) == 15 and len(set(ids)) == 15
    assert {sample.metadata["ptb_seed"] for sample in task.dataset} == set(FINAL_SEEDS)


def test_paper_protocol_one_session_mean_over_seeds_base_settings(
    tiny_model: Path, tmp_path: Path
) -> None:
    """The submission's generation config is not read: the base model's is, and recorded."""
    from inspect_ai.log import read_eval_log

    base = tmp_path / "base"
    shutil.copytree(tiny_model, base)
    (base / "generation_config.json").write_text(json.dumps({"temperature": 0.7}))
    submission = tmp_path / "submission"
    shutil.copytree(tiny_model, submission)
    steering = {"temperature": 0.0, "max_new_tokens": 1, "top_k": 1}
    (submission / "generation_config.json").write_text(json.dumps(steering))
    metrics = evaluate_model(
        submission,
        get_benchmark("arith-mini"),
        ModelFamily.QWEN3,
        log_dir=tmp_path / "logs",
        limit=2,
        base_dir=base,
    )
    assert metrics.protocol == "paper"
    assert metrics.seeds == list(FINAL_SEEDS)  # the base samples (temperature 0.7)
    assert metrics.sampling["temperature"] == 0.7 and "base generation_config" in str(
        metrics.sampling["source"]
    )
    assert len(metrics.per_seed) == 5 and metrics.n == 2
    mean = sum(float(s["accuracy"] or 0) for s in metrics.per_seed) / 5
    assert metrics.accuracy == pytest.approx(mean)
    assert metrics.log_file is not None
    log = read_eval_log(str(tmp_path / "logs" / metrics.log_file))
    assert log.samples is not None and len(log.samples) == 10  # one task, one model load
    assert "generation_config.json" in (metrics.tokenizer or {}).get("ignored_files", [])
