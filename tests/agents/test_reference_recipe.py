"""The reference recipe: declared data per benchmark, decontaminated, checkpointed, clean."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from posttrainbench.agents._reference_data import (
    REFERENCE_DATA,
    reference_data,
    reference_records,
)
from posttrainbench.agents.sft_recipe import lora_rank_for
from posttrainbench.benchmarks import DatasetUnavailable, get_benchmark
from posttrainbench.benchmarks.data import CACHE_ENV, HubDataset
from posttrainbench.errors import UserError

_FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _put_parquet(root: Path, source: HubDataset, filename: str, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` where the hub cache keeps ``filename`` of ``source``."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    repo = root / f"datasets--{source.repo_id.replace('/', '--')}"
    commit = source.revision
    if len(commit) != 40:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / commit).write_text(_FAKE_COMMIT)
        commit = _FAKE_COMMIT
    path = repo / "snapshots" / commit / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), str(path))


_TEST_QUESTION = (
    "A baker fills 14 trays with 23 rolls each and sells all but 17 rolls by noon. "
    "How many rolls did the baker sell before noon?"
)


def test_gsm8k_data_is_read_from_the_cache_and_decontaminated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posttrainbench.benchmarks.gsm8k import GSM8K

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    _put_parquet(
        tmp_path, GSM8K, GSM8K.files[0], [{"question": _TEST_QUESTION, "answer": "#### 305"}]
    )
    train = [
        {
            "question": f"Tom has {n} red kites and buys {n + 3} blue kites at the fair today.",
            "answer": f"He has {n} + {n + 3} kites.\n#### {2 * n + 3}",
        }
        for n in range(3)
    ]
    # A training row that is really the test question: decontamination must drop it.
    train.append({"question": _TEST_QUESTION, "answer": "14 * 23 - 17 = 305\n#### 305"})
    data = reference_data("gsm8k")
    assert data.source.repo_id == "openai/gsm8k" and len(data.source.revision) == 40
    _put_parquet(tmp_path, data.source, data.file, train)

    prepared = reference_records(get_benchmark("gsm8k"), 10)
    assert prepared.dropped == 1 and len(prepared.records) == 3
    texts = [r["prompt"][0]["content"] + r["completion"][0]["content"] for r in prepared.records]
    assert not any("baker" in text for text in texts)
    first = prepared.records[0]["completion"][0]["content"]
    assert first.endswith(tuple(f"ANSWER: {2 * n + 3}" for n in range(3)))


def test_missing_data_is_an_offline_error_naming_source_and_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    with pytest.raises(DatasetUnavailable) as error:
        reference_records(get_benchmark("humaneval"), 10)
    message = str(error.value)
    assert "google-research-datasets/mbpp" in message and "ptb data fetch" in message
    with pytest.raises(UserError, match="no training data for 'nope'"):
        reference_data("nope")


@pytest.mark.parametrize(
    ("benchmark", "row", "expected"),
    [
        ("aime2025", {"problem": "Find x.", "solution": "x = 2"}, ("Find x.", "x = 2")),
        (
            "humaneval",
            {
                "text": "Add.",
                "code": "def f(a, b): return a + b",
                "test_list": ["assert f(1, 2) == 3"],
            },
            None,
        ),
        (
            "bfcl",
            {"query": "Weather?", "tools": '[{"name": "w"}]', "answers": '[{"name": "w"}]'},
            None,
        ),
        (
            "gpqamain",
            {
                "question": "Q?",
                "correct_answer": "b",
                "distractor1": "a",
                "distractor2": "c",
                "distractor3": "d",
            },
            None,
        ),
        (
            "healthbench",
            {
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"},
                ]
            },
            ("Hi", "Hello"),
        ),
    ],
)
def test_every_declared_set_converts_its_rows(
    benchmark: str, row: dict[str, Any], expected: tuple[str, str] | None
) -> None:
    pair = REFERENCE_DATA[benchmark].convert(row)
    assert pair is not None and all(pair)
    if expected is not None:
        assert pair == expected
    assert REFERENCE_DATA[benchmark].convert({}) is None
    if benchmark == "gpqamain":
        assert pair[1] == "ANSWER: B"  # choices sorted: a, b, c, d


def test_lora_is_chosen_when_full_fine_tuning_would_not_fit() -> None:
    gib = 1 << 30
    assert lora_rank_for(4_000_000_000, 80 * gib) is None  # 32 GB of state fits an H100
    assert lora_rank_for(4_000_000_000, 24 * gib) == 16
    assert lora_rank_for(30_000_000_000, 80 * gib) == 16
    assert lora_rank_for(30_000_000_000, None) is None  # CPU: always full


def test_checkpoints_leave_a_loadable_model_when_training_is_killed(
    tiny_model: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    from posttrainbench.agents._reference_data import write_records

    records = reference_records(get_benchmark("arith"), 64).records
    data = tmp_path / "train.jsonl"
    write_records(records, data)
    out = tmp_path / "final_model"
    argv = [
        sys.executable, "-m", "posttrainbench.agents.sft_recipe",
        "--base-model", str(tiny_model), "--benchmark", "arith", "--output-dir", str(out),
        "--data", str(data), "--steps", "100000", "--batch-size", "4",
        "--checkpoint-every", "0.5",
    ]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        waited = 0.0
        while not (out / "config.json").exists() and process.poll() is None and waited < 240:
            time.sleep(0.5)
            waited += 0.5
    finally:
        process.kill()
        output = process.communicate()[0]
    assert (out / "config.json").exists(), output
    assert "checkpoint at step" in output
    AutoModelForCausalLM.from_pretrained(str(out))  # loads: the evaluator can score it
    assert json.loads((out / "config.json").read_text())["architectures"]


@pytest.mark.slow
def test_reference_trial_on_arith_passes_its_own_audit(tiny_model: Path, tmp_path: Path) -> None:
    from posttrainbench.trial import TrialRunner, TrialSpec

    spec = TrialSpec(
        agent="reference", agent_config="steps=3", model=str(tiny_model), benchmark="arith-mini",
        hours=0.05,
    )  # fmt: skip
    runner = TrialRunner(spec, tmp_path / "runs", log=lambda message: None)
    result = runner.run()
    assert result.audit_verdict == "clean", runner.paths.audit.read_text()
    assert result.fallback_reason is None and result.raw_score is not None
    # The decontaminated records were in the workspace the audit scanned.
    assert (runner.paths.workspace / "reference-data" / "train.jsonl").stat().st_size > 0
