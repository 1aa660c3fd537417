"""The server providers: a real inspect eval of arith through the OpenAI-compatible route."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily, chat_template
from posttrainbench.errors import UserError
from posttrainbench.evaluation import Endpoint, Provider, evaluate_model, select_provider
from posttrainbench.testing import FakeOpenAIServer, FakeRequest


def test_existing_endpoint_scores_arith_with_pinned_sampling(
    tiny_model: Path, tmp_path: Path, arith_reply: Callable[[int], Callable[[FakeRequest], str]]
) -> None:
    with FakeOpenAIServer(arith_reply(2), models=["served"], api_key="k") as server:
        metrics = evaluate_model(
            tiny_model,
            get_benchmark("arith-mini"),
            ModelFamily.QWEN3,
            log_dir=tmp_path / "logs",
            limit=10,
            provider="openai",
            endpoint=Endpoint(server.base_url, "served", "k"),
            protocol="greedy",
        )
        requests = server.chat_requests
    # every second question (0, 2, 4, 6, 8) is answered right
    assert (metrics.accuracy, metrics.n, metrics.provider) == (0.5, 10, "openai")
    assert len(requests) == 10
    body = requests[0].body
    assert body["model"] == "served"
    assert body["temperature"] == 0 and body["top_p"] == 1 and body["seed"] == 0
    assert body["max_tokens"] == get_benchmark("arith-mini").generation.max_tokens
    # the harness's template and stop tokens travel with every request
    assert body["chat_template"] == chat_template(ModelFamily.QWEN3)
    assert body["stop_token_ids"] == [2, 0]  # <|im_end|>, <|endoftext|> of the tiny tokenizer
    assert body["repetition_penalty"] == 1.0


def test_paper_protocol_sends_a_seed_per_request_and_the_base_sampling(
    tiny_model: Path, tmp_path: Path, arith_reply: Callable[[int], Callable[[FakeRequest], str]]
) -> None:
    from posttrainbench.evaluation.protocol import FINAL_SEEDS, sample_seed

    arith = get_benchmark("arith-mini")
    base = tmp_path / "base"
    shutil.copytree(tiny_model, base)
    (base / "generation_config.json").write_text(json.dumps({"top_k": 20}))  # no temperature
    with FakeOpenAIServer(arith_reply(1), models=["served"], api_key="k") as server:
        metrics = evaluate_model(
            tiny_model,
            arith,
            ModelFamily.QWEN3,
            log_dir=tmp_path / "logs",
            limit=2,
            provider="openai",
            endpoint=Endpoint(server.base_url, "served", "k"),
            base_dir=base,
        )
        requests = server.chat_requests
    assert metrics.seeds == list(FINAL_SEEDS) and metrics.accuracy == 1.0
    items = [item.id for item in arith.test_items()[:2]]
    expected = {sample_seed(seed, item) for seed in FINAL_SEEDS for item in items}
    assert {request.body["seed"] for request in requests} == expected
    body = requests[0].body
    # the base's generation config sets no temperature: vLLM's default 1.0; its top_k counts
    assert body["temperature"] == 1.0 and body["top_k"] == 20 and body["top_p"] == 1.0


def test_endpoint_from_the_environment(
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    arith_reply: Callable[[int], Callable[[FakeRequest], str]],
) -> None:
    with FakeOpenAIServer(arith_reply(1), models=["m"]) as server:
        monkeypatch.setenv("PTB_EVAL_PROVIDER", "openai")
        monkeypatch.setenv("PTB_EVAL_BASE_URL", server.base_url)
        monkeypatch.setenv("PTB_EVAL_MODEL", "m")
        metrics = evaluate_model(
            tiny_model, get_benchmark("arith-mini"), ModelFamily.QWEN3, log_dir=tmp_path, limit=3
        )
    assert metrics.accuracy == 1.0 and metrics.n == 3


def test_managed_vllm_provider_end_to_end(
    tiny_model: Path, tmp_path: Path, fake_vllm: Path, alive: Callable[[int], bool]
) -> None:
    metrics = evaluate_model(
        tiny_model,
        get_benchmark("arith-mini"),
        ModelFamily.QWEN3,
        log_dir=tmp_path / "logs",
        limit=4,
        provider="vllm",
    )
    assert (metrics.accuracy, metrics.n, metrics.provider) == (1.0, 4, "vllm")
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["argv"][1] == str(tiny_model)
    assert record["template"] == chat_template(ModelFamily.QWEN3)
    deadline = time.monotonic() + 10
    while (alive(record["pid"]) or alive(record["child"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(record["pid"]) and not alive(record["child"])


def test_provider_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    assert select_provider("hf") is Provider.HF
    assert select_provider(None, {"PTB_EVAL_PROVIDER": "vllm"}) is Provider.VLLM
    # no vllm package and no GPU on this machine: automatic choice is hf
    assert select_provider(None, {}) is Provider.HF
    with pytest.raises(UserError, match="Unknown evaluation provider"):
        select_provider("tgi")
    with pytest.raises(UserError, match="PTB_EVAL_BASE_URL"):
        Endpoint.from_env({})
