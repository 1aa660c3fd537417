"""Fixtures of the evaluation tests: a fake ``vllm`` executable and arith answers."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from posttrainbench.benchmarks import arith
from posttrainbench.testing import FakeRequest

FAKE_VLLM = """#!{python}
# A stand-in for `vllm serve`: records its command line, starts a worker child like vLLM's
# engine process, then serves a fake OpenAI-compatible API that solves arith questions.
import json, os, subprocess, sys, time

argv = sys.argv[1:]
record = os.environ["FAKE_VLLM_RECORD"]
mode = os.environ.get("FAKE_VLLM_MODE", "ok")
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
with open(record, "w") as handle:
    json.dump({{"argv": argv, "pid": os.getpid(), "pgid": os.getpgid(0), "child": child.pid,
               "template": open(argv[argv.index("--chat-template") + 1]).read()}}, handle)
print("fake vllm starting", flush=True)
if mode == "crash":
    print("torch.OutOfMemoryError: CUDA out of memory (fake)", flush=True)
    sys.exit(3)
if mode == "hang":
    time.sleep(3600)
time.sleep(float(os.environ.get("FAKE_VLLM_STARTUP_S", "0.5")))
from posttrainbench.testing.fake_openai import FakeOpenAIServer
from posttrainbench.benchmarks import arith
answers = {{item.question: item.answer for item in arith.test_split()}}
def reply(request):
    question = request.last_user_text
    return f"The answer is {{answers[question]}}." if question in answers else question
server = FakeOpenAIServer(reply, models=[argv[argv.index("--served-model-name") + 1]],
                          api_key=argv[argv.index("--api-key") + 1],
                          port=int(argv[argv.index("--port") + 1]))
server.serve_forever()
"""


@pytest.fixture
def fake_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Path of a fake ``vllm`` executable; it writes what it saw to ``record.json``."""
    script = tmp_path / "bin" / "vllm"
    script.parent.mkdir()
    script.write_text(FAKE_VLLM.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FAKE_VLLM_RECORD", str(tmp_path / "record.json"))
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return script


@pytest.fixture
def arith_reply() -> Callable[[int], Callable[[FakeRequest], str]]:
    """A factory of responders answering arith; every ``n``-th question correctly."""
    return _arith_reply


def _arith_reply(correct_every: int = 1) -> Callable[[FakeRequest], str]:
    answers = {item.question: int(item.answer) for item in arith.test_split()}
    order = {item.question: i for i, item in enumerate(arith.test_split())}

    def reply(request: FakeRequest) -> str:
        question = request.last_user_text
        right = answers[question]
        return f"The answer is {right if order[question] % correct_every == 0 else right + 1}."

    return reply


@pytest.fixture
def alive() -> Callable[[int], bool]:
    """A check that a process id still runs."""
    return _alive


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
