"""Inside the sandbox the agent reads exactly its benchmark's data, not the whole cache."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from posttrainbench.benchmarks.data import CACHE_ENV
from posttrainbench.benchmarks.gsm8k import GSM8K
from posttrainbench.errors import TrialFailed
from posttrainbench.executors import run_trials
from posttrainbench.trial import TrialPaths, TrialSpec, trial_dir


def parquet(records: list[dict[str, Any]]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(records), sink)
    return bytes(sink.getvalue().to_pybytes())


@pytest.fixture
def data_cache(tmp_path: Path) -> Path:
    """A hub-shaped cache with GSM8K fixture files and an unrelated private repo."""
    root = tmp_path / "hub-cache"
    snapshot = root / "datasets--openai--gsm8k" / "snapshots" / GSM8K.revision
    blobs = root / "datasets--openai--gsm8k" / "blobs"
    blobs.mkdir(parents=True)
    for index, (filename, prefix) in enumerate(zip(GSM8K.files, ("Q", "T"), strict=True)):
        rows = [
            {"question": f"{prefix}{n}: {n} + 1?", "answer": f"#### {n + 1}"} for n in range(12)
        ]
        blob = blobs / f"blob{index}"
        blob.write_bytes(parquet(rows))
        link = snapshot / filename
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))  # as the hub cache links them
    secret = root / "models--someone--instruct" / "snapshots" / "abc" / "config.json"
    secret.parent.mkdir(parents=True)
    secret.write_text("{}")
    return root


def solve_only(
    runs: Path,
    model: Path,
    cache: Path,
    command: str,
    hours: float = 0.1,
    benchmark: str = "gsm8k",
) -> TrialPaths:
    """Run a trial on the local queue up to the end of solve (its worker dies at collect)."""
    spec = TrialSpec(
        agent="command", agent_config=command, model=str(model), benchmark=benchmark, hours=hours
    )
    armed = {CACHE_ENV: str(cache), "PTB_FAILPOINTS": "collect.start"}
    with mock.patch.dict(os.environ, armed), pytest.raises(TrialFailed, match="code -9"):
        run_trials([spec], runs, log=lambda _: None)
    return TrialPaths(trial_dir(runs, spec))


def agent_output(paths: TrialPaths) -> str:
    lines = paths.raw_stream.read_text().splitlines()
    return "\n".join(str(json.loads(line)["line"]) for line in lines)


@pytest.fixture(autouse=True)
def _needs_bwrap() -> None:
    from posttrainbench.sandbox import get_sandbox

    if get_sandbox(None).name != "bwrap":
        pytest.skip("needs bwrap: the process backend shows the agent the whole host")


LOAD = (
    "{python} -c 'from posttrainbench.benchmarks import get_benchmark; "
    'print("items", len(get_benchmark("gsm8k").test_items()))\'; '
    "ls {cache}/models--someone--instruct || echo cache-hidden; "
    'echo "data=$PTB_DATA_CACHE"'
)


def test_agent_loads_its_benchmark_data_but_not_the_rest_of_the_cache(
    tiny_model: Path, runs_root: Path, data_cache: Path
) -> None:
    command = LOAD.replace("{cache}", str(data_cache))
    paths = solve_only(runs_root, tiny_model, data_cache, command)
    output = agent_output(paths)
    assert "items 12" in output
    assert "cache-hidden" in output
    assert f"data={paths.agent_data}" in output
    # The agent's data directory holds private copies of the two files, nothing else of
    # the cache: the kernel watch marks them without seeing other trials' reads.
    copies = {p.name: p for p in paths.agent_data.rglob("*.parquet")}
    assert sorted(copies) == sorted(Path(f).name for f in GSM8K.files)
    snapshot = data_cache / "datasets--openai--gsm8k" / "snapshots" / GSM8K.revision
    for file in GSM8K.files:
        copy = copies[Path(file).name]
        assert not copy.is_symlink() and copy.read_bytes() == (snapshot / file).read_bytes()


PACKAGED = (
    "{python} -c 'from posttrainbench.benchmarks import get_benchmark; "
    'b = get_benchmark("BENCH"); (source,) = b.data_sources; '
    'print("installed", len(source.installed_path().read_bytes())); '
    'print("items", len(b.test_items()))\''
)


@pytest.mark.parametrize(("benchmark", "items"), [("arith", 200), ("humaneval", 164)])
def test_packaged_test_data_is_masked_and_read_from_the_trials_copy(
    tiny_model: Path, runs_root: Path, tmp_path: Path, benchmark: str, items: int
) -> None:
    from posttrainbench.benchmarks import get_benchmark

    command = PACKAGED.replace("BENCH", benchmark)
    paths = solve_only(runs_root, tiny_model, tmp_path, command, benchmark=benchmark)
    output = agent_output(paths)
    assert "installed 0" in output  # the package's own file is an empty mask in the sandbox
    assert f"items {items}" in output  # read from the trial's watched copy
    (source,) = get_benchmark(benchmark).data_sources
    assert source.installed_path().stat().st_size > 0  # untouched on the host


def test_data_that_is_not_cached_is_reported_and_the_agent_still_runs(
    tiny_model: Path, runs_root: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    paths = solve_only(runs_root, tiny_model, empty, "echo agent-ran")
    assert "agent-ran" in agent_output(paths)
    assert not any(paths.agent_data.rglob("*.parquet"))


@pytest.mark.slow
def test_agent_runs_task_evaluate_on_benchmark_data_in_the_sandbox(
    tiny_model: Path, runs_root: Path, data_cache: Path
) -> None:
    command = "{python} task/evaluate.py --model-path {base_model} --limit 2"
    # A random tiny model generates up to GSM8K's 4000 tokens: minutes on a CPU.
    output = agent_output(solve_only(runs_root, tiny_model, data_cache, command, hours=0.5))
    assert "accuracy" in output and "(n=2)" in output, output
