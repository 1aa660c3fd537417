"""Zygotes: children of each lifetime, several at once, and a zygote forked in place."""

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

ENTRIES = Path(__file__).parent / "trial" / "zygote_entries"


@pytest.fixture
def zygote(monkeypatch: pytest.MonkeyPatch) -> Iterator[Zygote]:
    monkeypatch.setenv("PYTHONPATH", str(ENTRIES))
    started = Zygote(["json"])
    yield started
    started.close()


def _identity(path: Path) -> tuple[int, int, int, int]:
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid, parent, group, session = map(int, path.read_text().split())
    return pid, parent, group, session


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _running(pid)


def test_each_lifetime_sets_group_session_and_survival(zygote: Zygote, tmp_path: Path) -> None:
    release = tmp_path / "release"
    children = {}
    for lifetime in ("attempt", "attached", "detached"):
        ids = tmp_path / lifetime
        child = zygote.start(
            "attempt_entries:identify_and_wait",
            [str(ids), str(release)],
            tmp_path / f"{lifetime}.log",
            lifetime=lifetime,
        )
        pid, parent, group, session = _identity(ids)
        assert (pid, parent) == (child.pid, zygote.pid)
        children[lifetime] = (child, group, session)
    zygote_group = os.getpgid(zygote.pid)
    zygote_session = os.getsid(zygote.pid)
    attempt, group, session = children["attempt"]
    assert group == attempt.pid and session == zygote_session  # its own group, killable whole
    attached, group, session = children["attached"]
    assert group == zygote_group and session == zygote_session  # shares the terminal's Ctrl-C
    detached, group, session = children["detached"]
    assert group == session == detached.pid  # a session of its own
    assert all(child.poll() is None for child, _, _ in children.values())

    zygote.close()
    # Attempts and attached children die with the zygote; a detached one lives on.
    assert _gone_within(attempt.pid, 10) and _gone_within(attached.pid, 10)
    assert _running(detached.pid)
    release.touch()
    assert _gone_within(detached.pid, 30)


def test_children_at_once_report_their_own_status_in_any_order(
    zygote: Zygote, tmp_path: Path
) -> None:
    first_release, second_release = tmp_path / "go-1", tmp_path / "go-2"
    first = zygote.start(
        "attempt_entries:identify_and_wait",
        [str(tmp_path / "ids-1"), str(first_release), "3"],
        tmp_path / "one.log",
    )
    second = zygote.start(
        "attempt_entries:identify_and_wait",
        [str(tmp_path / "ids-2"), str(second_release), "4"],
        tmp_path / "two.log",
    )
    _identity(tmp_path / "ids-1")
    _identity(tmp_path / "ids-2")
    second_release.touch()  # the later child ends first
    assert second.wait(60) == 4
    assert first.poll() is None and first.wait(0.2) is None  # a timeout is not an end
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == -signal.SIGTERM
    assert second.poll() == 4  # an ended child keeps its status


def test_a_zygote_forked_in_place_has_what_its_parent_imported(tmp_path: Path) -> None:
    script = """
import os, sys, threading, time, decimal
from pathlib import Path
from posttrainbench._zygote import Zygote
zygote = Zygote.fork_here()
status = zygote.run("attempt_entries:report_modules", ["decimal"], Path(sys.argv[1]), 60)
parent = int(Path(f"/proc/{zygote.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
print(status, parent == os.getpid())
threading.Thread(target=time.sleep, args=(1,)).start()
try:
    Zygote.fork_here()
except RuntimeError as error:
    print("refused:", error)
"""
    result, refusal = _run_script(script, tmp_path / "attempt.log")
    # The zygote is a child of the process that forked it; its attempt found the module
    # that process had imported, without importing it again.
    assert result == "0 True"
    assert (tmp_path / "attempt.log").read_text().strip() == "decimal already imported"
    assert refusal.startswith("refused: a zygote is forked only from a single-threaded")


def test_a_cold_worker_imports_first_then_is_its_own_evaluation_zygote(tmp_path: Path) -> None:
    # A cluster job starts cold: it imports the harness's modules itself (here a stand-in
    # list) and forks its zygote from itself rather than starting another interpreter.
    script = """
import os, sys
from pathlib import Path
from posttrainbench.trial import eval_process
print(eval_process.fork_zygote_here(["decimal"]), eval_process.fork_zygote_here(["decimal"]))
zygote = eval_process.harness_zygote()
status = zygote.run("attempt_entries:report_modules", ["decimal"], Path(sys.argv[1]), 60)
parent = int(Path(f"/proc/{zygote.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
print(status, parent == os.getpid())
"""
    # Forked once (a second call keeps that zygote), a child of the job's process, and its
    # attempt found the module imported before the fork.
    assert _run_script(script, tmp_path / "attempt.log") == ["True False", "0 True"]
    assert (tmp_path / "attempt.log").read_text().strip() == "decimal already imported"


def _run_script(script: str, log: Path) -> list[str]:
    """Run ``script`` in a fresh interpreter that can import the entries; its output lines."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(log)],
        env={**os.environ, "PYTHONPATH": str(ENTRIES)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_poll_alone_sees_a_child_that_ended(zygote: Zygote, tmp_path: Path) -> None:
    # A queue only polls: the end must be read from the zygote by the poll itself.
    child = zygote.start("attempt_entries:report", ["6"], tmp_path / "quick.log")
    deadline = time.monotonic() + 60
    status = child.poll()
    while status is None and time.monotonic() < deadline:
        time.sleep(0.1)
        status = child.poll()
    assert status == 6


def test_a_request_larger_than_a_pipe_buffer_reaches_the_child(
    zygote: Zygote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZYGOTE_TEST_VARIABLE", "x" * 300_000)  # a pipe holds 64 KiB
    log = tmp_path / "large.log"
    assert zygote.run("attempt_entries:report", ["0"], log, timeout_s=60) == 0
    assert f"variable={'x' * 300_000}" in log.read_text()
