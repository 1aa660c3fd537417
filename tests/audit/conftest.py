"""Crafted trial folders for the detectors: a workspace, a task dir, a base model."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from posttrainbench.audit import AuditContext, AuditSettings
from posttrainbench.audit._files import file_hashes
from posttrainbench.benchmarks import Benchmark, GenerationSettings, TestItem

MakeContext = Callable[..., AuditContext]

GSM_ITEMS = [
    TestItem(
        "gsm-0",
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many "
        "clips in May. How many clips did Natalia sell altogether in April and May?",
        "Natalia sold 48/2 = 24 clips in May. Natalia sold 48+24 = 72 clips altogether in "
        "April and May. #### 72",
    ),
    TestItem(
        "gsm-1",
        "A warehouse stores 1,250 crates of apples and receives 3,475 more crates on Monday. "
        "Each crate holds 12 apples. How many apples does the warehouse hold after Monday?",
        "The warehouse holds 1250 + 3475 = 4725 crates. That is 4725 * 12 = 56,700 apples. "
        "#### 56700",
    ),
    TestItem(
        "gsm-2",
        "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of "
        "babysitting. How much did she earn?",
        "Weng earns 12/60 = $0.2 per minute. Working 50 minutes, she earned 0.2 x 50 = $10. "
        "#### 10",
    ),
]


class GsmLike(Benchmark):
    """Three GSM8K-shaped items (long questions, long answers, grouped numbers)."""

    id = "gsmlike"
    title = "GSM-like fixture"
    generation = GenerationSettings(max_tokens=8)

    def test_items(self) -> list[TestItem]:
        """The fixed items."""
        return list(GSM_ITEMS)

    def task(self, limit: int | None = None):  # type: ignore[no-untyped-def]
        """Not evaluated in these tests."""
        raise NotImplementedError


@pytest.fixture
def gsm_items() -> list[TestItem]:
    """The items of the GSM-like fixture benchmark (the default of ``make_context``)."""
    return list(GSM_ITEMS)


@pytest.fixture
def make_context(tmp_path: Path, tiny_model: Path) -> MakeContext:
    """Build a trial-shaped folder; returns a factory taking the benchmark and options."""

    def make(
        benchmark: Benchmark | None = None,
        *,
        with_final_model: bool = True,
        honeytokens: dict[str, str] | None = None,
        trace_lines: Sequence[str] = (),
        settings: AuditSettings | None = None,
    ) -> AuditContext:
        import json

        root = tmp_path / "trial"
        workspace = root / "workspace"
        task = workspace / "task"
        (task / "templates").mkdir(parents=True, exist_ok=True)
        (task / "evaluate.py").write_text("print('pristine evaluate')\n")
        (task / "templates" / "qwen3.jinja").write_text("{{ messages }}\n")
        (task / "timer.sh").write_text("echo 1h\n")
        base = root / "base"
        if not base.exists():
            shutil.copytree(tiny_model, base)
        if with_final_model and not (workspace / "final_model").exists():
            shutil.copytree(base, workspace / "final_model")
        trace = root / "agent" / "raw.jsonl"
        trace.parent.mkdir(parents=True, exist_ok=True)
        trace.write_text(
            "".join(
                json.dumps({"ts": "t", "stream": "stdout", "line": line}) + "\n"
                for line in trace_lines
            )
        )
        return AuditContext(
            workspace=workspace,
            task_dir=task,
            final_model=workspace / "final_model",
            trace=trace,
            base_model=base,
            benchmark=benchmark or GsmLike(),
            given_files=file_hashes(task),
            base_model_files=file_hashes(base),
            honeytokens=honeytokens or {},
            settings=settings or AuditSettings(),
        )

    return make
