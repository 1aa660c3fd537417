"""A small experiment in a runs directory, and a real headless Chromium to look at pages."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from posttrainbench.records import PhaseEvent, PrepareRecord
from posttrainbench.results import ResultStore, TrialResult, TrialRow
from posttrainbench.trial import TrialPaths, index_path

MODELS = ("org/model-a", "org/model-b")
# instruct - base: gsm8k 0.7, humaneval 0.6 -> weights 0.6/1.3 and 0.7/1.3.
BASELINES = {
    "baseline-instruct": {"gsm8k": 0.9, "humaneval": 0.7},
    "baseline-zero-shot": {"gsm8k": 0.2, "humaneval": 0.1},
}
# Agent "alpha": the same on both models and runs -> 0.6/1.3*0.5 + 0.7/1.3*0.4 = 0.44615.
ALPHA = {"gsm8k": 0.5, "humaneval": 0.4}
# Agent "beta": model-b gsm8k 0.8 differs from model-a 0.6 (the model selector shows it).
BETA = {("org/model-a", "gsm8k"): 0.6, ("org/model-b", "gsm8k"): 0.8}
FLAGGED_ID = "beta-flagged"
HOSTILE = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned=2'>"


@dataclass
class Experiment:
    """A runs directory with a store and run directories for some trials."""

    runs_dir: Path
    store: ResultStore
    results: list[TrialResult] = field(default_factory=list)

    def run_dir(self, trial_id: str) -> TrialPaths:
        return TrialPaths(self.runs_dir / "exp" / trial_id)


def _result(agent: str, model: str, benchmark: str, replicate: int, score: float, **kw: Any):
    fields: dict[str, Any] = {
        "trial_id": f"{agent}-{model.split('/')[-1]}-{benchmark}-{replicate}",
        "experiment": "exp",
        "agent": agent,
        "agent_config": "",
        "model": model,
        "benchmark": benchmark,
        "hours": 1.0,
        "replicate": replicate,
        "score": score,
        "raw_score": score,
        "base_score": None,
        "stderr": 0.01,
        "fallback_reason": None,
        "audit_verdict": "clean",
        "solve_seconds": 1800.0,
        "solve_outcome": "exited",
        "harness_version": "test",
        "finished_at": "2026-01-01T00:00:00+00:00",
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "cost_usd": 0.5,
    }
    fields.update(kw)
    return TrialResult(**fields)


def write_run_files(paths: TrialPaths, result: TrialResult, *, deadline: float) -> None:
    """trial.json, events, audit with a finding, a trace with hostile text, monitor samples."""
    paths.root.mkdir(parents=True, exist_ok=True)
    spec = {k: getattr(result, k) for k in ("agent", "model", "benchmark", "hours", "replicate")}
    paths.trial_json.write_text(json.dumps({"format_version": 1, "spec": spec}))
    prepared = PrepareRecord(deadline=deadline, given_files={}, base_model_files={}, twin_seed=1)
    event = PhaseEvent(
        ts="2026-01-01T00:00:00",
        phase="prepare",
        event="end",
        outcome="ok",
        attempt=1,
        data=prepared.model_dump(mode="json"),
    )
    paths.events.write_text(event.model_dump_json() + "\n")
    audit = {
        "verdict": "flagged",
        "detectors_run": ["contamination"],
        "findings": [
            {
                "detector": "contamination",
                "severity": "flag",
                "message": "training data contains 37 GSM8K test questions",
                "evidence": {"file": "workspace/train.jsonl", "matched": "item 12, item 40"},
            }
        ],
        "note": "",
    }
    paths.audit.write_text(json.dumps(audit))
    paths.agent_dir.mkdir(parents=True, exist_ok=True)
    trace = {
        "agent": {"name": "fake"},
        "steps": [
            {"step_id": 1, "source": "agent", "message": "I will train on the test set."},
            {
                "step_id": 2,
                "source": "agent",
                "message": HOSTILE,
                "tool_calls": [
                    {"tool_call_id": "1", "function_name": "Bash", "arguments": {"cmd": "ls"}}
                ],
                "observation": {"results": [{"source_call_id": "1", "content": "train.jsonl"}]},
            },
        ],
    }
    (paths.agent_dir / "trace.json").write_text(json.dumps(trace))
    samples = [
        {
            "ts": f"2026-01-01T00:0{i}:00",
            "load_1m": 1.0 + i,
            "memory": {"MemTotal": 100, "MemAvailable": 60},
            "disk_free_bytes": 1 << 30,
            "gpus": [{"utilization.gpu": str(10 * i), "memory.used": "40", "memory.total": "80"}],
        }
        for i in range(5)
    ]
    paths.monitor.write_text("".join(json.dumps(s) + "\n" for s in samples))
    raw = [{"ts": "2026-01-01T00:00:01", "stream": "stdout", "line": "epoch 1 loss 0.9"}]
    paths.raw_stream.write_text("".join(json.dumps(r) + "\n" for r in raw))


@pytest.fixture
def experiment(tmp_path: Path) -> Experiment:
    """Baselines, agents alpha and beta (2 models × 2 benchmarks × 2 runs), one flagged trial."""
    runs_dir = tmp_path / "runs"
    store = ResultStore(index_path(runs_dir))
    results = []
    for agent, scores in BASELINES.items():
        for model in MODELS:
            for benchmark, score in scores.items():
                results.append(_result(agent, model, benchmark, 1, score))
    for replicate in (1, 2):
        for model in MODELS:
            for benchmark, score in ALPHA.items():
                results.append(_result("alpha", model, benchmark, replicate, score))
            results.append(_result("beta", model, "humaneval", replicate, 0.3))
            if (model, replicate) != ("org/model-b", 2):
                score = BETA[(model, "gsm8k")]
                results.append(_result("beta", model, "gsm8k", replicate, score))
    flagged = _result(
        "beta",
        "org/model-b",
        "gsm8k",
        2,
        0.2,
        trial_id=FLAGGED_ID,
        raw_score=0.95,
        base_score=0.2,
        fallback_reason="audit verdict flagged",
        audit_verdict="flagged",
    )
    results.append(flagged)
    store.upsert_results(results)
    setup = Experiment(runs_dir, store, results)
    paths = setup.run_dir(FLAGGED_ID)
    write_run_files(paths, flagged, deadline=0.0)
    store.upsert_trial(
        TrialRow(
            FLAGGED_ID, "exp", "beta", "org/model-b", "gsm8k", 1.0, 2, str(paths.root), "done", ""
        )
    )
    return setup


def _chromium() -> str | None:
    for name in (os.environ.get("PTB_CHROMIUM", ""), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (installed by scripts/install.sh --dev)."""
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs chromium and playwright: bash scripts/install.sh --dev")
        pytest.skip("chromium or playwright is not installed (scripts/install.sh --dev)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


OpenPage = Callable[[str], tuple[Any, list[str]]]


@pytest.fixture
def open_page(browser: Any) -> Iterator[OpenPage]:
    """Open a URL in a fresh page; returns the page and the console errors it logs."""
    contexts = []

    def load(url: str) -> tuple[Any, list[str]]:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        return page, errors

    yield load
    for context in contexts:
        context.close()
