"""The README's Quick start and "Your first 10 minutes", run verbatim in a fresh folder.

One demo run (real trials: the trained model really beats the base model) is shared by
every check; the commands are read from the README, so the README cannot drift from what
works.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from posttrainbench.demo import DEMO_STEPS, follow_up_commands
from posttrainbench.results import TrialResult

README = Path(__file__).resolve().parents[1] / "README.md"

# One demo (two real trials) and the first-10-minutes commands run in the first test.
pytestmark = pytest.mark.timeout(2400)


def readme_block(heading: str) -> list[str]:
    """The command lines of the first ```bash block under ``heading``, comments dropped."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(f"## {heading}") :]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, f"no bash block under '{heading}'"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def as_argv(command: str) -> list[str]:
    """``ptb ...`` or ``.venv/bin/ptb ...`` as this interpreter's ``python -m`` command."""
    parts = shlex.split(command)
    assert parts[0] in {"ptb", ".venv/bin/ptb"}, command
    return [sys.executable, "-m", "posttrainbench.cli", *parts[1:]]


@dataclass
class Session:
    folder: Path
    outputs: dict[str, subprocess.CompletedProcess[str]]


def run(command: str, folder: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PTB_RUNS_DIR", "COLUMNS"}}
    return subprocess.run(
        as_argv(command), cwd=folder, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """Quick start's demo, then each first-10-minutes command, in order, in a fresh folder."""
    folder = tmp_path_factory.mktemp("new-user")
    quick = readme_block("Quick start")[0]
    demo = quick.split("&&")[1].strip()  # the part after the install
    outputs = {"demo": run(demo, folder, timeout=1500)}
    assert outputs["demo"].returncode == 0, (
        outputs["demo"].stdout[-3000:] + outputs["demo"].stderr[-3000:]
    )
    for line in readme_block("Your first 10 minutes"):
        if line.startswith("source "):
            continue  # the venv's ptb is this interpreter's module here
        command = line.split("&&")[0].strip()  # `&& open site/index.html` opens a browser
        outputs[command] = run(command, folder)
    outputs["demo again"] = run(demo, folder)
    return Session(folder, outputs)


def results_of(folder: Path) -> dict[str, TrialResult]:
    paths = (folder / "runs" / "demo").glob("*/result.json")
    records = [TrialResult.model_validate_json(path.read_text()) for path in paths]
    return {record.agent: record for record in records}


def test_demo_trains_a_model_that_beats_the_base_model(session: Session) -> None:
    results = results_of(session.folder)
    assert set(results) == {"noop", "reference"}
    noop, reference = results["noop"], results["reference"]
    assert noop.fallback_reason is None and reference.fallback_reason is None
    assert reference.score is not None and noop.score is not None
    # The point of the demo, as the README states it: trained >= 0.9, the base <= 0.1.
    assert reference.score >= 0.9 and noop.score <= 0.1, (noop.score, reference.score)
    demo = session.outputs["demo"].stdout
    assert re.search(rf"sft: \d+/{DEMO_STEPS} steps · loss .* · ETA ", demo), demo[-3000:]


def test_demo_ends_with_the_commands_of_the_readme(session: Session) -> None:
    demo = session.outputs["demo"].stdout
    tail = demo[demo.index("Results are in") :]
    assert str(session.folder / "runs") in tail
    expected = follow_up_commands(Path("runs"), list(results_of(session.folder).values()))
    readme = [line for line in readme_block("Your first 10 minutes") if "source" not in line]
    assert expected == readme
    for command in expected:
        assert command in tail


def test_every_first_10_minutes_command_succeeds(session: Session) -> None:
    for command, completed in session.outputs.items():
        assert completed.returncode == 0, (command, completed.stdout[-2000:], completed.stderr)


def test_leaderboard_ranks_the_trained_model_first_and_says_how(session: Session) -> None:
    board = session.outputs["ptb leaderboard"].stdout
    assert board.index("reference") < board.index("noop")
    assert "Average: unweighted mean over the benchmarks present (arith)" in board
    by_benchmark = session.outputs["ptb leaderboard --by-benchmark"].stdout
    assert "arith" in by_benchmark and "gsm8k" not in by_benchmark


def test_trace_shows_the_reference_agents_steps(session: Session) -> None:
    trace = session.outputs["ptb trace show reference"].stdout
    steps = re.search(r"(\d+) steps", trace)
    assert steps and int(steps.group(1)) >= 10, trace[-2000:]
    assert f"sft: {DEMO_STEPS}/{DEMO_STEPS} steps" in trace


def test_site_and_plots_are_written(session: Session) -> None:
    index = session.folder / "site" / "index.html"
    assert index.is_file()
    page = index.read_text()
    assert page.index('data-agent="reference') < page.index('data-agent="noop"')
    assert (session.folder / "plots" / "leaderboard.png").is_file()
    assert (session.folder / "plots" / "leaderboard.svg").is_file()
    assert "not drawn: budgets" in session.outputs["ptb plots plots/"].stdout


def test_running_the_demo_again_says_the_trials_were_already_done(session: Session) -> None:
    again = session.outputs["demo again"].stdout
    assert "2 of 2 trials were already done" in again
    assert again.count(": already done, showing its recorded result") == 2
