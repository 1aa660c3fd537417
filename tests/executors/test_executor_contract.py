"""Adding an executor is one module: a test-only executor runs an experiment end to end.

The executor below lives in a module of its own, outside the package, and is named in the
experiment file by its ``module:Class`` path: nothing in config or the experiment code
knows it, yet its settings are validated with file and line, ``ptb run``/``status``/
``cancel`` go through it, and it sees the judge's variables. Trials given one by one (as
``ptb run --agent`` gives them) reach it by the same path.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from posttrainbench.config import load_experiment
from posttrainbench.errors import TrialFailed, UserError
from posttrainbench.executors import (
    cancel_experiment,
    experiment_status,
    run_trials,
    submit_experiment,
)
from posttrainbench.trial import TrialSpec

LEDGER_EXECUTOR = '''
from pathlib import Path
from typing import Literal
import json

from posttrainbench.config import ExecutorSettings
from posttrainbench.executors import Executor


class LedgerSettings(ExecutorSettings):
    label: str
    """Written with every trial id."""


class LedgerExecutor(Executor):
    """Writes the trials it was asked to run to a ledger instead of running them."""

    settings_model = LedgerSettings

    def run(self, *, wait: bool = True) -> None:
        ledger = self.experiment_dir / "ledger.json"
        ledger.parent.mkdir(parents=True, exist_ok=True)
        ledger.write_text(json.dumps({
            "label": self.settings.label,
            "trials": [spec.trial_id for spec in self.specs],
            "judge_model": self.extra_env.get("PTB_JUDGE_MODEL"),
            "wait": wait,
            "watch": self.watch,
        }))

    def refresh(self) -> None:
        (self.experiment_dir / "refreshed").parent.mkdir(parents=True, exist_ok=True)
        (self.experiment_dir / "refreshed").touch()

    @classmethod
    def cancel(cls, experiment_dir: Path) -> list[str]:
        ledger = json.loads((experiment_dir / "ledger.json").read_text())
        return list(ledger["trials"])


class DefaultLedgerSettings(LedgerSettings):
    label: str = "one by one"


class DefaultLedgerExecutor(LedgerExecutor):
    """The same, with settings that all have defaults (usable without an experiment file)."""

    settings_model = DefaultLedgerSettings
'''


def experiment(tmp_path: Path, executor_table: str) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(
        textwrap.dedent(
            """\
            name = "ledgered"
            agents = ["noop"]
            models = ["m1", "m2"]
            benchmarks = ["arith-mini"]
            hours = 0.1

            [judge]
            model = "judge-7"
            """
        )
        + executor_table
    )
    return path


@pytest.fixture
def ledger_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "ledger_executor.py").write_text(LEDGER_EXECUTOR)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "ledger_executor:LedgerExecutor"


def test_a_new_executor_runs_reports_and_cancels(tmp_path: Path, ledger_module: str) -> None:
    table = f'[executor]\ntype = "{ledger_module}"\nlabel = "nightly"\n'
    loaded = load_experiment(experiment(tmp_path, table))
    status = submit_experiment(loaded, log=lambda _: None, wait=False)
    ledger = json.loads((loaded.experiment_dir / "ledger.json").read_text())
    assert ledger["label"] == "nightly" and ledger["wait"] is False
    assert ledger["trials"] == [spec.trial_id for spec in loaded.trial_specs()]
    assert ledger["judge_model"] == "judge-7"
    assert (loaded.experiment_dir / "refreshed").exists()
    assert status.executor == ledger_module and len(status.trials) == 2
    assert experiment_status(loaded).phase_counts() == {"new": 2}
    assert cancel_experiment(loaded) == ledger["trials"]


def test_its_settings_are_validated_with_file_and_line(tmp_path: Path, ledger_module: str) -> None:
    table = f'[executor]\ntype = "{ledger_module}"\nlable = "typo"\n'
    with pytest.raises(UserError) as error:
        load_experiment(experiment(tmp_path, table))
    message = str(error.value)
    assert "exp.toml:11: executor.lable: Extra inputs are not permitted" in message
    assert "exp.toml:9: executor.label: Field required" in message


def test_trials_given_one_by_one_go_through_the_named_executor(
    tiny_model: Path, tmp_path: Path, ledger_module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_JUDGE_MODEL", "judge-9")
    specs = [
        TrialSpec(
            agent="noop", model=str(tiny_model), benchmark="arith-mini", hours=0.1, replicate=r
        )
        for r in (1, 2)
    ]
    runs = tmp_path / "runs"
    with pytest.raises(UserError, match=r"needs settings \(label\)"):
        run_trials(specs, runs, executor=ledger_module, log=lambda _: None)
    executor = ledger_module.replace("LedgerExecutor", "DefaultLedgerExecutor")
    with pytest.raises(TrialFailed, match=f"trial {specs[0].trial_id} did not finish"):
        run_trials(specs, runs, executor=executor, log=lambda _: None)
    ledger = json.loads((runs / "default" / "ledger.json").read_text())
    assert ledger["trials"] == [spec.trial_id for spec in specs]
    assert ledger["label"] == "one by one" and ledger["watch"] is True
    assert ledger["judge_model"] == "judge-9"  # the judge's settings reach it as from a file


def test_an_unknown_executor_type_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"exp.toml:9: executor.*Known executors: local, slurm"):
        load_experiment(experiment(tmp_path, '[executor]\ntype = "pbs"\n'))
