"""The stand-in internet uses addresses and routes of the whole host: one exists at a time."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from posttrainbench.testing import stand_in_internet as module
from posttrainbench.testing.stand_in_internet import stand_in_internet, stand_in_unavailable_reason


def test_the_host_lock_is_held_while_a_stand_in_exists() -> None:
    reason = stand_in_unavailable_reason() or (None if shutil.which("flock") else "no flock")
    if reason:
        pytest.skip(reason)
    try_lock = ["flock", "--nonblock", "--exclusive", str(module._HOST_LOCK), "true"]
    with stand_in_internet(lifetime_s=60) as internet:
        assert internet.listed != internet.other
        # Another stand-in (a second test worker, another checkout's tests) would wait here.
        assert subprocess.run(try_lock, check=False).returncode != 0
