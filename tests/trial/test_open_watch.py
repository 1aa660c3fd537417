"""The kernel watch records every program that opens the test data, except the evaluator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from posttrainbench.trial.open_watch import KernelOpen, OpenWatch, unavailable_reason

pytestmark = pytest.mark.skipif(
    unavailable_reason() is not None, reason=f"no kernel watch here: {unavailable_reason()}"
)

_READ = "import sys; open(sys.argv[-1], 'rb').read()"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data" / "test.jsonl"
    data.parent.mkdir()
    data.write_text('{"question": "secret"}\n')
    evaluator = tmp_path / "task" / "evaluate.py"
    evaluator.parent.mkdir()
    # The evaluator reads the data itself, and through a child process of its own.
    evaluator.write_text(
        "import subprocess, sys\n"
        "open(sys.argv[1], 'rb').read()\n"
        "subprocess.run(['cat', sys.argv[1]], stdout=subprocess.DEVNULL, check=True)\n"
    )
    return data, evaluator


def _watched(data: Path, evaluator: Path, *commands: list[str], cwd: Path) -> list[KernelOpen]:
    seen: list[KernelOpen] = []
    with OpenWatch([data], evaluator, seen.append):
        for command in commands:
            subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return seen


def test_any_program_that_opens_the_data_is_recorded_with_its_command_line(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    data, evaluator = files
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(_READ)
    commands = [
        ["cat", str(data)],  # not Python: the audit hook never sees it
        [sys.executable, "-I", "-S", "-c", _READ, str(data)],  # no site, no hook
        [sys.executable, str(wrapper), "task/evaluate.py", str(data)],  # names the script
        ["cat", "task/evaluate.py", str(data)],  # another program naming the script
    ]

    seen = _watched(data, evaluator, *commands, cwd=tmp_path)

    assert [record.cmdline.split()[0] for record in seen] == [c[0] for c in commands]
    assert all(record.path == str(data) and record.pid > 1 for record in seen)
    assert "task/evaluate.py" in seen[2].cmdline


def test_the_evaluator_and_its_children_are_not_recorded(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    data, evaluator = files
    copy = tmp_path / "evaluate_copy.py"
    copy.write_text(evaluator.read_text())

    seen = _watched(
        data,
        evaluator,
        [sys.executable, "task/evaluate.py", str(data)],  # relative, from the workspace
        [sys.executable, "-u", str(evaluator), str(data)],  # absolute, with an option
        [sys.executable, str(copy), str(data)],  # a copy is not the evaluator
        cwd=tmp_path,
    )

    reader, child = seen  # the copy, and the cat it started: nothing of the evaluator's
    assert str(copy) in reader.cmdline
    assert child.cmdline.startswith("cat ") and child.ppid == reader.pid


def test_an_evaluator_run_the_agent_prepared_is_recorded_with_why(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    data, evaluator = files
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "hook")}
    hijack = tmp_path / "hijack"
    hijack.mkdir()
    (hijack / "sitecustomize.py").write_text("")  # would run inside the evaluator
    run = [sys.executable, "task/evaluate.py", str(data)]
    seen: list[KernelOpen] = []

    with OpenWatch([data], evaluator, seen.append, agent_env=env, given={"evaluate.py"}):
        subprocess.run(run, cwd=tmp_path, env=env, check=True)  # as given: exempt
        changed = {**env, "PYTHONPATH": f"{hijack}:{env['PYTHONPATH']}"}
        subprocess.run(run, cwd=tmp_path, env=changed, check=True)
        (evaluator.parent / "json.py").write_text("from _json import *\n")  # shadows json
        subprocess.run(run, cwd=tmp_path, env=env, check=True)

    notes = {record.note for record in seen}
    assert notes == {
        "evaluate.py ran with changed PYTHONPATH",
        "evaluate.py ran beside files the agent added: json.py",
    }
    assert len(seen) == 4  # each hijacked run, and the cat it started
