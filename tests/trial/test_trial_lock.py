"""One harness per trial: a second ``ptb run`` stops at once; a dead holder's lock is taken."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from posttrainbench._fileio import read_jsonl
from posttrainbench.errors import TrialFailed, UserError
from posttrainbench.executors import run_trials
from posttrainbench.trial import TrialPaths, TrialSpec, trial_dir
from posttrainbench.trial.lock import LockHolder, TrialBusyError, TrialLock

AGENT = "command:echo started > started; sleep 30; cp -r {base_model} {final_model}"


def ptb_run(runs: Path, model: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "posttrainbench.cli", "run", "--agent", AGENT]
    argv += ["--model", str(model), "--benchmark", "arith-mini", "--hours", "0.05"]
    argv += ["--runs-dir", str(runs)]
    env = {**os.environ, "PTB_FAILPOINTS": ""}
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_second_harness_exits_at_once_and_a_dead_holders_lock_is_taken_over(
    tiny_model: Path, runs_root: Path
) -> None:
    spec = TrialSpec(
        agent="command",
        agent_config=AGENT.removeprefix("command:"),
        model=str(tiny_model),
        benchmark="arith-mini",
        hours=0.05,
    )
    paths = TrialPaths(trial_dir(runs_root, spec))
    first = ptb_run(runs_root, tiny_model)
    try:
        deadline = time.time() + 120
        while not (paths.workspace / "started").exists():
            assert first.poll() is None, first.communicate()[0]
            assert time.time() < deadline, "the first agent never started"
            time.sleep(0.2)
        holder = LockHolder.model_validate_json(paths.lock.read_text())
        # `ptb run` runs the trial in its queue's worker process, which holds the lock.
        job = runs_root / spec.experiment / "_executor" / "jobs" / f"{spec.trial_id}.json"
        assert holder.pid == json.loads(job.read_text())["pid"] != first.pid

        # A second harness (this process's local queue, as `ptb run` runs it) stops at once.
        with pytest.raises(UserError) as second:
            run_trials([spec], runs_root, log=lambda _: None)
        message = f"trial {spec.trial_id} is running (pid {holder.pid} on {holder.host} since "
        assert message in str(second.value)
        assert first.poll() is None  # the holder is untouched, its agent still running
        assert not (paths.workspace / "final_model").exists()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()

    # The holder (the queue's worker) dies with its queue, shortly after it: its lock is then
    # stale (dead pid on this host) and the next run takes it.
    deadline = time.monotonic() + 60
    while Path(f"/proc/{holder.pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{holder.pid}").exists(), "the worker outlived its queue"
    with (
        mock.patch.dict(os.environ, {"PTB_FAILPOINTS": "solve.start"}),
        pytest.raises(TrialFailed, match="code -9"),
    ):
        run_trials([spec], runs_root, log=lambda _: None)  # dies once it holds the lock
    takeovers = [r for r in read_jsonl(paths.events) if r.get("event") == "lock_takeover"]
    assert len(takeovers) == 1
    assert takeovers[0]["previous"]["pid"] == holder.pid
    assert takeovers[0]["holder"]["pid"] not in {holder.pid, first.pid, os.getpid()}


def _holder(host: str, age_s: float) -> LockHolder:
    return LockHolder(
        host=host,
        pid=1,
        started_at="2026-01-01T00:00:00+00:00",
        heartbeat=time.time() - age_s,
        token="theirs",
    )


def test_lock_of_another_host_is_stale_only_when_its_heartbeat_is_old(tmp_path: Path) -> None:
    lock, events = tmp_path / ".lock", tmp_path / "events.jsonl"
    lock.write_text(_holder("node-7", age_s=10).model_dump_json())
    with pytest.raises(TrialBusyError, match=r"trial t1 is running \(pid 1 on node-7 since 2026"):
        TrialLock(lock, "t1", events, stale_after_s=60).acquire()
    assert not events.exists()

    lock.write_text(_holder("node-7", age_s=120).model_dump_json())
    with TrialLock(lock, "t1", events, stale_after_s=60) as taken:
        assert LockHolder.model_validate_json(lock.read_text()).token == taken.holder.token
    assert not lock.exists()  # released at the end
    (record,) = read_jsonl(events)
    assert record["event"] == "lock_takeover" and record["previous"]["host"] == "node-7"


def test_heartbeat_notices_a_takeover_and_the_holder_stops(tmp_path: Path) -> None:
    lock_path = tmp_path / ".lock"
    lock = TrialLock(lock_path, "t1", tmp_path / "events.jsonl", heartbeat_s=0.05)
    lock.acquire()
    try:
        stolen = json.loads(lock_path.read_text()) | {"token": "someone-else", "pid": 4242}
        lock_path.write_text(json.dumps(stolen))
        deadline = time.time() + 30
        while lock.lost is None:
            assert time.time() < deadline, "the heartbeat never looked at the lock"
            time.sleep(0.05)
        with pytest.raises(TrialBusyError, match="taken over by pid 4242"):
            lock.check()
    finally:
        lock.release()
    assert lock_path.exists()  # not ours any more: left to its new holder
