"""The stand-in internet uses addresses and routes of the whole host: one exists at a time."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from posttrainbench.testing import stand_in_internet as module
from posttrainbench.testing.stand_in_internet import stand_in_internet, stand_in_unavailable_reason

KILLED_STAND_IN = """
import sys, time
from posttrainbench.testing.stand_in_internet import stand_in_internet
with stand_in_internet(lifetime_s=60):
    print("up", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def host_network() -> None:
    reason = stand_in_unavailable_reason() or (None if shutil.which("flock") else "no flock")
    if reason:
        pytest.skip(reason)


@pytest.mark.usefixtures("host_network")
def test_the_host_lock_is_held_while_a_stand_in_exists() -> None:
    try_lock = ["flock", "--nonblock", "--exclusive", str(module._HOST_LOCK), "true"]
    with stand_in_internet(lifetime_s=60) as internet:
        assert internet.listed != internet.other
        # Another stand-in (a second test worker, another checkout's tests) would wait here.
        assert subprocess.run(try_lock, check=False).returncode != 0


@pytest.mark.usefixtures("host_network")
def test_what_a_killed_stand_in_left_is_removed_by_the_next() -> None:
    killed = subprocess.Popen([sys.executable, "-c", KILLED_STAND_IN], stdout=subprocess.PIPE)
    assert killed.stdout is not None and killed.stdout.readline().strip() == b"up"
    killed.kill()  # SIGKILL: its namespace, veth pair and routes stay behind
    killed.wait()
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    assert f"ptbsi{killed.pid}a" in routes
    with stand_in_internet(lifetime_s=60):  # would fail: "route add ...: File exists"
        routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
        assert f"ptbsi{killed.pid}a" not in routes
