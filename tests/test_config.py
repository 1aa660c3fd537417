"""Experiment files: the matrix they expand to, and errors that point at the bad line."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.config import key_lines, load_experiment
from posttrainbench.errors import UserError
from posttrainbench.judge import JudgeSettings

VALID = """\
name = "sweep"
agents = ["noop", "reference"]
models = ["Qwen/Qwen3-1.7B-Base", "models/tiny"]
benchmarks = ["arith-mini"]
hours = [0.05, 1]
replicates = 3
gpus = 1

[executor]
type = "slurm"
partition = "gpu"
eval_margin_hours = 1.5

[judge]
model = "gpt-5-mini"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiment.toml"
    path.write_text(text)
    return path


def test_the_matrix_expands_to_every_combination_with_stable_ids(tmp_path: Path) -> None:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    loaded = load_experiment(write(tmp_path, VALID))
    specs = loaded.trial_specs()
    assert len(specs) == 2 * 2 * 1 * 2 * 3
    assert len({spec.trial_id for spec in specs}) == len(specs)
    assert {spec.replicate for spec in specs} == {1, 2, 3}
    assert all(spec.gpus == 1 and spec.experiment == "sweep" for spec in specs)
    # A local model directory is resolved relative to the file, so ids do not depend on cwd.
    assert str((tmp_path / "models" / "tiny").resolve()) in {spec.model for spec in specs}
    assert "Qwen/Qwen3-1.7B-Base" in {spec.model for spec in specs}
    again = load_experiment(write(tmp_path, VALID)).trial_specs()
    assert [spec.trial_id for spec in again] == [spec.trial_id for spec in specs]
    assert loaded.runs_root == tmp_path / "runs"
    assert loaded.config.executor.type == "slurm"
    assert loaded.config.judge is not None and loaded.config.judge.model == "gpt-5-mini"


def test_defaults_one_budget_and_a_local_executor(tmp_path: Path) -> None:
    text = 'name = "x"\nagents = ["noop"]\nmodels = ["m"]\nbenchmarks = ["arith"]\nhours = 2\n'
    loaded = load_experiment(write(tmp_path, text))
    assert loaded.config.hours == [2.0]
    assert loaded.config.executor.type == "local"
    [spec] = loaded.trial_specs()
    assert (spec.hours, spec.replicate, spec.gpus, spec.sandbox) == (2.0, 1, 0, "auto")


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(UserError) as caught:
        load_experiment(write(tmp_path, text))
    return str(caught.value)


def test_an_unknown_key_is_reported_with_its_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("replicates = 3", "replicate = 3"))
    assert f"{tmp_path / 'experiment.toml'}:6: replicate" in message
    assert "Extra inputs are not permitted" in message


def test_a_bad_value_in_a_table_points_at_its_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("eval_margin_hours = 1.5", "eval_margin_hours = -1"))
    assert "experiment.toml:12: executor.eval_margin_hours" in message
    message = error_of(tmp_path, VALID.replace('partition = "gpu"', 'partitoin = "gpu"'))
    assert "experiment.toml:11: executor.partitoin" in message


def test_a_bad_list_item_names_the_key_the_index_and_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("hours = [0.05, 1]", 'hours = [0.05, "ten"]'))
    assert "experiment.toml:5: hours[1]" in message


def test_a_missing_key_and_a_bad_executor_type_are_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace('benchmarks = ["arith-mini"]\n', ""))
    assert "benchmarks: Field required" in message
    message = error_of(tmp_path, VALID.replace('type = "slurm"', 'type = "pbs"'))
    assert "experiment.toml:9: executor" in message and "'pbs'" in message


def test_unknown_names_are_caught_before_any_trial_runs(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace('["arith-mini"]', '["arith-mini", "gsm9k"]'))
    assert "experiment.toml:4: benchmarks" in message and "gsm9k" in message
    message = error_of(tmp_path, VALID.replace('"reference"]', '"referenc"]'))
    assert "experiment.toml:2: agents" in message and "referenc" in message


def test_toml_syntax_errors_and_missing_files_are_user_errors(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("replicates = 3", "replicates = = 3"))
    assert "not valid TOML" in message and "line 6" in message
    with pytest.raises(UserError, match="Cannot read"):
        load_experiment(tmp_path / "absent.toml")


def test_key_lines_follows_tables_dotted_and_multiline_values() -> None:
    text = (
        'name = "x"\n'
        "agents = [\n"
        '  "noop",\n'
        '  "reference",  # [not a table]\n'
        "]\n"
        "executor.type = 'local'\n"
        "[judge]\n"
        'model = """a\n'
        "b = 1\n"
        '"""\n'
        '"base_url" = "http://x"\n'
    )
    lines = key_lines(text)
    assert lines[("name",)] == 1
    assert lines[("agents",)] == 2
    assert lines[("executor", "type")] == 6
    assert lines[("judge",)] == 7
    assert lines[("judge", "model")] == 8
    assert ("judge", "b") not in lines
    assert lines[("judge", "base_url")] == 11


def test_judge_settings_become_harness_variables(tmp_path: Path) -> None:
    text = VALID.replace('model = "gpt-5-mini"', 'model = "judge-1"\napi_key_env = "MY_KEY"')
    judge = load_experiment(write(tmp_path, text)).config.judge
    assert judge is not None
    env = judge.to_env({"MY_KEY": "sk-1"})
    assert env["PTB_JUDGE_MODEL"] == "judge-1" and env["PTB_JUDGE_API_KEY"] == "sk-1"
    # The harness reads back exactly the settings of the experiment file.
    assert JudgeSettings.from_env(env) == judge.model_copy(update={"api_key_env": None})
    with pytest.raises(UserError, match="MY_KEY, which is not set"):
        judge.to_env({})
