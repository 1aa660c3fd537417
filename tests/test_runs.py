"""The runs folder's layout: one rule to find a trial, one agent label, the nearest runs/."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.agents import split_agent
from posttrainbench.errors import UserError
from posttrainbench.runs import TRIAL_RECORD, RunsLayout, agent_label, trials_in

TRIALS = (
    "exp/noop_arith_m_1h_r1_aaaa",
    "exp/noop_arith_m_1h_r10_bbbb",
    "exp/reference_arith_m_1h_r1_cccc",
    "other/noop_arith_m_1h_r1_aaaa",
    "other/codex-gpt_arith_m_1h_r1_dddd",
)
"""experiment/trial-id of the trials in the runs folder the lookups search."""


@pytest.fixture
def layout(tmp_path: Path) -> RunsLayout:
    for name in TRIALS:
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / TRIAL_RECORD).write_text("{}")
    (tmp_path / "runs" / "exp" / "_executor" / "jobs").mkdir(parents=True)  # not a trial
    return RunsLayout(tmp_path / "runs")


@pytest.mark.parametrize(
    ("ref", "found"),
    [
        ("reference", "exp/reference_arith_m_1h_r1_cccc"),  # a unique start
        ("codex", "other/codex-gpt_arith_m_1h_r1_dddd"),
        ("noop_arith_m_1h_r10", "exp/noop_arith_m_1h_r10_bbbb"),
        ("exp/noop_arith_m_1h_r1_aaaa", "exp/noop_arith_m_1h_r1_aaaa"),  # experiment/id
        ("other/noop", "other/noop_arith_m_1h_r1_aaaa"),  # experiment/start
    ],
)
def test_a_trial_is_found_by_the_unique_start_of_its_id(
    layout: RunsLayout, ref: str, found: str
) -> None:
    assert layout.find_trial(ref) == layout.root / found


@pytest.mark.parametrize(
    ("ref", "message", "listed"),
    [
        ("noop", "matches 3 trials", ["exp/noop_arith_m_1h_r10_bbbb", "other/noop_arith"]),
        ("noop_arith_m_1h_r1_aaaa", "matches 2 trials", ["exp/noop", "other/noop"]),
        ("exp/noop_arith_m_1h_r1", "matches 2 trials", ["r1_aaaa", "r10_bbbb"]),
        ("nothing", "No trial 'nothing'", ["ptb status"]),
        ("", "No trial ''", []),
        ("*", "No trial '*'", []),  # not a glob
        ("exp/_executor", "No trial", []),
    ],
)
def test_none_or_several_matches_are_a_clear_error_naming_them(
    layout: RunsLayout, ref: str, message: str, listed: list[str]
) -> None:
    with pytest.raises(UserError, match=message) as error:
        layout.find_trial(ref)
    for name in listed:
        assert name in str(error.value)


def test_a_run_directory_is_taken_as_it_is(layout: RunsLayout, tmp_path: Path) -> None:
    folder = layout.root / "exp" / "noop_arith_m_1h_r10_bbbb"
    assert layout.find_trial(str(folder)) == folder
    elsewhere = RunsLayout(tmp_path / "empty")
    assert elsewhere.find_trial(str(folder)) == folder


def test_a_full_id_is_taken_over_the_longer_ids_it_starts(tmp_path: Path) -> None:
    for name in ("e/abc", "e/abcd"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / TRIAL_RECORD).write_text("{}")
    assert RunsLayout(tmp_path).find_trial("abc") == tmp_path / "e" / "abc"


def test_select_names_experiments_folders_and_single_trials(layout: RunsLayout) -> None:
    exp = sorted(layout.root / name for name in TRIALS if name.startswith("exp/"))
    assert layout.select("exp") == exp
    assert layout.select(str(layout.root / "exp")) == exp
    assert layout.select("reference") == [layout.root / "exp/reference_arith_m_1h_r1_cccc"]
    assert trials_in(layout.root / "exp") == exp
    with pytest.raises(UserError, match="matches 3 trials"):
        layout.select("noop")
    with pytest.raises(UserError, match="holds no trial"):
        trials_in(layout.root)


@pytest.mark.parametrize(
    ("name", "config", "label"),
    [
        ("noop", "", "noop"),
        ("reference", "steps=800", "reference:steps=800"),
        ("codex", "gpt-5?effort=low", "codex:gpt-5?effort=low"),
        ("claude-code", "?effort=high", "claude-code?effort=high"),
        ("command", "echo a:b?c", "command:echo a:b?c"),
    ],
)
def test_the_agent_label_reads_back_as_the_agent(name: str, config: str, label: str) -> None:
    assert agent_label(name, config) == label
    assert split_agent(label) == (name, config)


def test_the_nearest_runs_folder_is_found_upwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert RunsLayout.nearest(tmp_path / "a" / "b").root == tmp_path / "runs"
    monkeypatch.chdir(tmp_path / "a")
    assert RunsLayout.resolve(None).root == tmp_path / "runs"
    assert RunsLayout.resolve(Path("runs")).root == tmp_path / "runs"  # the default searches
    assert RunsLayout.resolve(Path("mine")).root == Path("mine")  # a choice is kept
    monkeypatch.chdir(tmp_path)
    assert RunsLayout.nearest().root == Path("runs")  # found here: stays relative
    assert RunsLayout(Path("r")).index == Path("r") / "index.sqlite"


@pytest.mark.parametrize(
    "command",
    [["trace", "show"], ["audit"], ["export", "harbor"]],
    ids=["trace", "audit", "export"],
)
def test_every_command_that_takes_a_trial_finds_it_by_the_same_rule(
    layout: RunsLayout, tmp_path: Path, command: list[str]
) -> None:
    from typer.testing import CliRunner

    from posttrainbench.cli import app

    extra = [str(tmp_path / "out")] if command[0] == "export" else []
    runs = ["--runs-dir", str(layout.root)]
    ambiguous = CliRunner().invoke(app, [*command, "noop_arith_m_1h_r1_aaaa", *extra, *runs])
    assert isinstance(ambiguous.exception, UserError), ambiguous.output
    assert "matches 2 trials: exp/noop_arith_m_1h_r1_aaaa, other/noop" in str(ambiguous.exception)
    # The start of an id is enough when it names one trial: the command gets past the lookup
    # (to the trial's records, which this fixture leaves empty).
    found = CliRunner().invoke(app, [*command, "exp/noop_arith_m_1h_r10", *extra, *runs])
    assert "No trial" not in str(found.exception) and "matches" not in str(found.exception)
