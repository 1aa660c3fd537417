"""What a new user meets after the demo: results found from anywhere, clear empty answers,
traces of every agent, messages that render as written (issue 15)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from posttrainbench.cli import app, print_error
from posttrainbench.errors import UserError
from posttrainbench.results import ResultStore, TrialResult
from posttrainbench.runs import RunsLayout
from posttrainbench.testing.fake_trials import write_trial_record
from posttrainbench.trial import TrialPaths, TrialSpec, index_path

REPO = Path(__file__).resolve().parents[1]
TRIAL = "reference-steps-500_arith_tiny_0.5h_r1_0123456789"


def _result(agent: str, score: float, trial_id: str) -> TrialResult:
    return TrialResult(
        trial_id=trial_id,
        experiment="demo",
        agent=agent,
        agent_config="",
        model="/m/tiny",
        benchmark="arith",
        hours=0.5,
        replicate=1,
        score=score,
        raw_score=score,
        base_score=None,
        stderr=None,
        fallback_reason=None,
        audit_verdict="clean",
        solve_seconds=30.0,
        solve_outcome="exited",
        harness_version="0",
        finished_at="2026-01-01T00:00:00+00:00",
    )


def _raw(ts: str, line: str, stream: str = "stdout") -> str:
    return json.dumps({"ts": ts, "stream": stream, "line": line}) + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a demo-like runs/: two results and the reference trial's files."""
    runs = tmp_path / "runs"
    store = ResultStore(index_path(runs))
    store.upsert_result(_result("noop", 0.0, "noop_arith_tiny_0.5h_r1_aaaaaaaaaa"))
    store.upsert_result(_result("reference", 0.95, TRIAL))
    trial = runs / "demo" / TRIAL
    (trial / "agent").mkdir(parents=True)
    spec = TrialSpec(
        agent="reference", agent_config="steps=500", model="tiny", benchmark="arith", hours=0.5
    )
    write_trial_record(TrialPaths(trial), spec)
    (trial / "agent" / "raw.jsonl").write_text(
        _raw("2026-01-01T00:00:01+00:00", "sft: 2000 records, lr 0.002, up to 500 steps")
        + _raw("2026-01-01T00:00:09+00:00", "sft: step 10/500 loss 4.6271 · ETA 45s")
    )
    (trial / "agent" / "solve_outcome.json").write_text('{"outcome": "exited"}')
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    return tmp_path


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.delenv("PTB_RUNS_DIR", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    yield CliRunner()


def test_commands_find_the_nearest_runs_folder_like_git(
    project: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "sub" / "deeper")
    assert RunsLayout.nearest().root == project / "runs"
    result = runner.invoke(app, ["leaderboard"])
    assert result.exit_code == 0, result.output
    assert result.output.index("reference") < result.output.index("noop")
    assert "95.0" in result.output


def test_ptb_runs_dir_names_the_folder(
    project: Path, runner: CliRunner, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = runner.invoke(app, ["leaderboard"], env={"PTB_RUNS_DIR": str(elsewhere / "runs")})
    assert "No trial results in" in result.output and str(elsewhere / "runs") in result.output
    result = runner.invoke(app, ["leaderboard"], env={"PTB_RUNS_DIR": str(project / "runs")})
    assert "reference" in result.output


def test_read_only_commands_create_nothing_and_say_where_they_looked(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for command in (["leaderboard"], ["status"], ["leaderboard", "--by-benchmark"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        assert f"in {empty / 'runs'}" in result.output
        assert "Run `ptb demo`" in result.output
    assert list(empty.iterdir()) == []  # no runs/index.sqlite


def test_trace_show_renders_a_builtin_agent_from_an_id_prefix(
    project: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "sub")
    result = runner.invoke(app, ["trace", "show", "reference"])
    assert result.exit_code == 0, result.output
    assert "model not reported" in result.output and "model ?" not in result.output
    assert "sft: step 10/500 loss 4.6271" in result.output
    assert "2 steps" in result.output


def test_trace_follow_shows_steps_as_they_come(project: Path, runner: CliRunner) -> None:
    trial = project / "runs" / "demo" / TRIAL
    outcome = trial / "agent" / "solve_outcome.json"
    outcome.unlink()

    def agent_keeps_working() -> None:
        time.sleep(1.0)
        with (trial / "agent" / "raw.jsonl").open("a") as handle:
            handle.write(_raw("2026-01-01T00:00:20+00:00", "sft: step 20/500 loss 1.8"))
        time.sleep(1.0)
        outcome.write_text('{"outcome": "exited"}')

    writer = threading.Thread(target=agent_keeps_working)
    writer.start()
    result = runner.invoke(
        app, ["trace", "show", "ref", "--follow", "--poll", "0.2"],
        env={"PTB_RUNS_DIR": str(project / "runs")},
    )  # fmt: skip
    writer.join()
    assert result.exit_code == 0, result.output
    assert result.output.count("sft: step 10/500") == 1
    assert "sft: step 20/500 loss 1.8" in result.output
    assert "the agent has ended (3 steps)" in result.output


def _install_messages() -> list[str]:
    """Every literal "pip install '...[extra]'" hint in the package's sources."""
    found = []
    for path in (REPO / "src" / "posttrainbench").rglob("*.py"):
        found += re.findall(r"pip install '[^']*\[[^']*\]'", path.read_text(encoding="utf-8"))
    return sorted(set(found))


def test_every_install_message_keeps_its_brackets() -> None:
    messages = _install_messages()
    assert "pip install 'posttrainbench[slurm]'" in messages
    for message in messages:
        out = io.StringIO()
        print_error(UserError(f"Needs an extra: {message}."), Console(file=out, width=200))
        assert message in out.getvalue(), out.getvalue()


def _ptb_to_file(args: list[str], cwd: Path, tmp_path: Path) -> str:
    """Run ptb with its output going to a file, as `ptb ... > out.txt` does."""
    env = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "PTB_RUNS_DIR"}}
    out = tmp_path / "out.txt"
    with out.open("w") as handle:
        subprocess.run(
            [sys.executable, "-m", "posttrainbench.cli", *args],
            stdout=handle, stderr=subprocess.STDOUT, cwd=cwd, env=env, timeout=120, check=False,
        )  # fmt: skip
    return out.read_text()


def test_output_to_a_file_does_not_wrap_at_80_columns(tmp_path: Path) -> None:
    long = tmp_path / ("a-rather-long-folder-name-" * 4) / "runs"
    long.mkdir(parents=True)
    text = _ptb_to_file(["leaderboard", "--runs-dir", str(long)], tmp_path, tmp_path)
    assert str(long) in text, text


def test_a_folder_without_config_json_is_not_a_model(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        ["run", "--agent", "noop", "--model", str(tmp_path), "--benchmark", "arith-mini",
         "--hours", "0.01", "--runs-dir", str(tmp_path / "runs")],
    )  # fmt: skip
    assert isinstance(result.exception, UserError)
    message = str(result.exception)
    assert f"{tmp_path} is not a model folder: it has no config.json" in message
    assert "Errno" not in message


def test_run_help_lists_every_sandbox(runner: CliRunner) -> None:
    from posttrainbench.sandbox import SANDBOXES

    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "300"})
    for name in ("auto", *SANDBOXES.names()):
        assert name in result.output
    assert {"podman", "docker", "apptainer", "bwrap", "process"} <= set(SANDBOXES.names())


def test_toml_syntax_error_names_the_line_of_the_mistake(tmp_path: Path) -> None:
    from posttrainbench.config import load_experiment

    path = tmp_path / "exp.toml"
    path.write_text('name = "x"\nagents = ["noop"\n\nmodels = ["m"]\n')
    with pytest.raises(UserError) as caught:
        load_experiment(path)
    assert str(caught.value).startswith(f"{path}:2: not valid TOML: Unclosed array")


def test_unknown_key_suggests_the_nearest_valid_one(tmp_path: Path) -> None:
    from posttrainbench.config import load_experiment

    path = tmp_path / "exp.toml"
    path.write_text(
        'name = "x"\nagents = ["noop"]\nmodels = ["m"]\nbenchmarks = ["arith"]\nhours = [1]\n'
        "replicate = 2\n[executor]\nslot = 2\n"
    )
    with pytest.raises(UserError) as caught:
        load_experiment(path, check_names=False)
    message = str(caught.value)
    assert f"{path}:6: replicate: Extra inputs are not permitted (did you mean 'replicates'?)" in (
        message
    )
    assert "executor.slot: Extra inputs are not permitted (did you mean 'slots'?)" in message
