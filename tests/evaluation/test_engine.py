"""The score depends on the weights only: the submission's own sampling or template is ignored."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from posttrainbench.benchmarks import get_benchmark
from posttrainbench.catalog import ModelFamily
from posttrainbench.evaluation import EvaluationError, evaluate_model


def completions(model_dir: Path, log_dir: Path) -> list[str]:
    from inspect_ai.log import read_eval_log

    metrics = evaluate_model(
        model_dir,
        get_benchmark("arith-mini"),
        ModelFamily.QWEN3,
        log_dir=log_dir,
        limit=6,
        protocol="greedy",
    )
    assert metrics.n == 6 and metrics.log_file is not None
    log = read_eval_log(str(log_dir / metrics.log_file))
    assert log.samples is not None
    return [sample.output.completion for sample in log.samples]


@pytest.fixture(scope="module")
def reference_outputs(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    outputs = completions(tiny_model, tmp_path_factory.mktemp("logs"))
    assert any(len(text) > 5 for text in outputs)  # long enough for a token cap to show
    return outputs


def copy_model(tiny_model: Path, tmp_path: Path) -> Path:
    target = tmp_path / "submitted"
    shutil.copytree(tiny_model, target)
    return target


def test_generation_config_of_the_submission_is_ignored(
    tiny_model: Path, tmp_path: Path, reference_outputs: list[str]
) -> None:
    model = copy_model(tiny_model, tmp_path)
    steering = {
        "max_new_tokens": 1,
        "do_sample": True,
        "temperature": 5.0,
        "repetition_penalty": 10.0,
        "eos_token_id": 5,
    }
    (model / "generation_config.json").write_text(json.dumps(steering))
    assert completions(model, tmp_path / "logs") == reference_outputs


def test_chat_template_of_the_submission_is_ignored(
    tiny_model: Path, tmp_path: Path, reference_outputs: list[str]
) -> None:
    model = copy_model(tiny_model, tmp_path)
    config_path = model / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = "Answer: 7 {% for m in messages %}{{ m.content }}{% endfor %}"
    config_path.write_text(json.dumps(config))
    (model / "chat_template.jinja").write_text(config["chat_template"])
    assert completions(model, tmp_path / "logs") == reference_outputs


def test_a_folder_without_weights_is_an_evaluation_error(tiny_model: Path, tmp_path: Path) -> None:
    model = copy_model(tiny_model, tmp_path)
    for weights in model.glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(EvaluationError):
        completions(model, tmp_path / "logs")


def test_agent_facing_script_prints_a_score(tiny_model: Path, tmp_path: Path) -> None:
    script = tmp_path / "evaluate.py"
    from posttrainbench.trial.prompt import render

    script.write_text(
        render("evaluate.py.j2", benchmark_id="arith", benchmark_title="Arith", family="qwen3")
    )
    completed = subprocess.run(
        [sys.executable, str(script), "--model-path", str(tiny_model), "--limit", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert "accuracy" in completed.stdout and "(n=3)" in completed.stdout
