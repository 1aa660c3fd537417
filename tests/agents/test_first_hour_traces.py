"""Built-in agents' traces have steps; a budget that cuts training short is recorded."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest
from rich.console import Console

from posttrainbench.agents import parse_stream
from posttrainbench.agents.base import CUT_SHORT_FILE
from posttrainbench.agents.parsers import HARNESS_STREAM, RawRecord
from posttrainbench.agents.render import transcript
from posttrainbench.agents.session import cut_short_of
from posttrainbench.agents.sft_recipe import _progress_info, train_sft
from posttrainbench.benchmarks import arith


def test_builtin_agent_lines_become_steps_in_order() -> None:
    records = [
        RawRecord("2026-01-01T00:00:01+00:00", "stdout", "sft: 2000 records, lr 0.002"),
        RawRecord("2026-01-01T00:00:02+00:00", "stderr", "a warning"),
        RawRecord("2026-01-01T00:00:03+00:00", "stdout", "   "),
        RawRecord("2026-01-01T00:00:04+00:00", HARNESS_STREAM, json.dumps({"kind": "resume"})),
        RawRecord("2026-01-01T00:00:05+00:00", "stdout", "sft: step 10/500 loss 1.2"),
    ]
    trace = parse_stream(records, "plain", "reference")
    assert [(s.source, s.message) for s in trace.steps] == [
        ("agent", "sft: 2000 records, lr 0.002"),
        ("agent", "a warning"),
        ("system", ""),
        ("agent", "sft: step 10/500 loss 1.2"),
    ]
    assert trace.steps[1].extra == {"kind": "log", "stream": "stderr"}
    assert trace.final_metrics.total_steps == 4
    assert trace.agent.version.startswith("posttrainbench ")
    out = io.StringIO()
    console = Console(file=out, width=200)
    for renderable in transcript(trace):
        console.print(renderable)
    text = out.getvalue()
    assert "model not reported · session none" in text
    assert "sft: step 10/500 loss 1.2" in text and "4 steps" in text


def test_training_progress_shows_loss_tokens_per_second_and_budget_left() -> None:
    now = time.time()
    info = _progress_info(100, {"loss": 0.5, "num_tokens": 20_000}, now - 10, now + 600)
    assert info == "loss 0.5000 · 2,000 tok/s · budget left 10m00s"


def test_a_deadline_that_cuts_training_short_says_so(tiny_model: Path, tmp_path: Path) -> None:
    note = tmp_path / "workspace" / CUT_SHORT_FILE
    note.parent.mkdir()
    records = arith.training_messages(arith.train_split(16))
    train_sft(
        tiny_model, records, tmp_path / "out", deadline=time.time(), max_steps=300,
        batch_size=4, cut_short_file=note,
    )  # fmt: skip
    assert note.read_text() == "time budget: training stopped at step 1 of 300\n"
    assert cut_short_of("exited", note.parent) == "time budget: training stopped at step 1 of 300"


def test_cut_short_is_read_from_the_outcome_or_the_agents_file(tmp_path: Path) -> None:
    assert cut_short_of("timed_out", tmp_path) == "stopped at the time limit"
    assert cut_short_of("exited", tmp_path) is None
    (tmp_path / CUT_SHORT_FILE).write_text("x" * 10_000)
    assert cut_short_of("exited", tmp_path) == "x" * 200


@pytest.mark.skipif(os.geteuid() != 0, reason="reads a root-only file through a link")
def test_the_agents_file_is_never_followed_through_a_link(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("host secret\n")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / CUT_SHORT_FILE).symlink_to(secret)
    assert cut_short_of("exited", workspace) is None
    (workspace / CUT_SHORT_FILE).unlink()
    os.mkfifo(workspace / CUT_SHORT_FILE)  # a FIFO must not block the harness
    assert cut_short_of("exited", workspace) is None


def test_reference_agent_config_takes_steps_and_learning_rate() -> None:
    from posttrainbench.agents.builtin import ReferenceAgent
    from posttrainbench.errors import UserError

    assert ReferenceAgent.from_config("steps=600,lr=3e-3") == ReferenceAgent(steps=600, lr=0.003)
    assert ReferenceAgent.from_config("lr=0.01").lr == 0.01
    with pytest.raises(UserError, match=r"expected steps=N, lr=X or steps=N,lr=X"):
        ReferenceAgent.from_config("steps=6,rate=1")
