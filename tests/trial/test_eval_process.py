"""Evaluation attempts forked from a zygote behave like fresh processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from posttrainbench._zygote import Zygote

ENTRIES = Path(__file__).parent / "zygote_entries"


@pytest.fixture
def zygote(monkeypatch: pytest.MonkeyPatch) -> Iterator[Zygote]:
    """A zygote that warms nothing (fast to start) and can import the test entries."""
    monkeypatch.setenv("PYTHONPATH", str(ENTRIES))
    started = Zygote(warm_modules=["json"])
    yield started
    started.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


def test_attempts_get_status_output_environment_and_fresh_state(
    zygote: Zygote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZYGOTE_TEST_VARIABLE", "first")
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "one.log"
    assert zygote.run("attempt_entries:report", ["7", "a b"], log, timeout_s=60) == 7
    first = log.read_text()
    assert "argv=['a b']" in first and "calls=1" in first
    assert "variable=first" in first and f"cwd={tmp_path}" in first

    # A variable set after the zygote started reaches the next attempt; module state
    # that the first attempt changed does not.
    monkeypatch.setenv("ZYGOTE_TEST_VARIABLE", "second")
    log = tmp_path / "two.log"
    assert zygote.run("attempt_entries:report", ["0"], log, timeout_s=60) == 0
    second = log.read_text()
    assert "calls=1" in second and "variable=second" in second
    pid, parent, group = (int(part.split("=")[1]) for part in second.split()[-3:])
    assert parent == zygote.pid and group == pid  # it leads its own group


def test_a_failing_attempt_exits_1_with_its_traceback(zygote: Zygote, tmp_path: Path) -> None:
    log = tmp_path / "fail.log"
    assert zygote.run("attempt_entries:fail", ["x"], log, timeout_s=60) == 1
    assert "ValueError: broken attempt ['x']" in log.read_text()
    assert zygote.usable()  # the zygote itself is unharmed


def test_timeout_kills_the_attempt_and_what_it_started(zygote: Zygote, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    log = tmp_path / "hang.log"
    assert zygote.run("attempt_entries:hang_with_child", [str(pids)], log, timeout_s=3) is None
    attempt, child = map(int, pids.read_text().split())
    assert _wait_gone(attempt) and _wait_gone(child)
    assert zygote.run("attempt_entries:report", ["5"], tmp_path / "after.log", 60) == 5


def test_a_changed_import_time_variable_makes_the_zygote_unusable(
    zygote: Zygote, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert zygote.usable()
    monkeypatch.setenv("ZYGOTE_TEST_VARIABLE", "not read at import time")
    assert zygote.usable()
    monkeypatch.setenv("INSPECT_DISPLAY", "none")  # read when an evaluation starts
    assert zygote.usable()
    monkeypatch.setenv("HF_HOME", "/elsewhere")  # huggingface_hub reads it when imported
    assert not zygote.usable()


def test_an_attempt_dies_with_a_killed_harness(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    harness = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from posttrainbench._zygote import Zygote; "
            "Zygote(['json']).run('attempt_entries:hang_with_child', [sys.argv[1]], "
            "Path(sys.argv[1] + '.log'), 600)",
            str(pids),
        ],
        env={**os.environ, "PYTHONPATH": str(ENTRIES)},
    )
    deadline = time.monotonic() + 60
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    attempt, child = map(int, pids.read_text().split())
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    # The zygote dies with the harness and the attempt with the zygote; the attempt's own
    # child is orphaned, as any process a killed evaluation started.
    assert _wait_gone(attempt)
    os.kill(child, signal.SIGKILL)


@pytest.mark.gpu
def test_attempts_forked_from_a_warm_zygote_use_cuda(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The zygote imports torch and transformers without touching CUDA, so each fork can
    # initialise CUDA itself ("Cannot re-initialize CUDA in forked subprocess" otherwise).
    from posttrainbench._warm import ML_STACK

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ENTRIES), *sys.path]))
    warm = Zygote([*ML_STACK, "peft"])
    try:
        for attempt in range(2):
            log = tmp_path / f"cuda-{attempt}.log"
            assert warm.run("attempt_entries:cuda_work", [], log, 600) == 0, log.read_text()
            assert "generated 8 tokens" in log.read_text()
    finally:
        warm.close()
