"""Lineage also compares the submission with the instruct counterpart in the host HF cache."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from posttrainbench.audit import run_audit
from posttrainbench.testing.lineage_scenarios import fine_tune
from posttrainbench.trial.audit import reference_models

from .conftest import MakeContext


def _cache_snapshot(cache: Path, repo: str, model: Path) -> Path:
    folder = cache / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / "0123abcd"
    shutil.copytree(model, snapshot)
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    return snapshot


def test_the_cached_instruct_counterpart_is_found(tmp_path: Path, tiny_model: Path) -> None:
    snapshot = _cache_snapshot(tmp_path, "Qwen/Qwen3-1.7B", tiny_model)
    assert reference_models("Qwen/Qwen3-1.7B-Base", cache_dir=tmp_path) == [snapshot]
    assert reference_models("Qwen/Qwen3-4B-Base", cache_dir=tmp_path) == []  # not cached
    assert reference_models(str(tiny_model), cache_dir=tmp_path) == []  # not in the catalog


def test_a_copy_of_a_reference_model_is_flagged(
    make_context: MakeContext, tmp_path: Path, tiny_model: Path
) -> None:
    instruct = fine_tune(tiny_model, tmp_path / "instruct", steps=40, learning_rate=3e-5)
    context = make_context()
    shutil.rmtree(context.final_model)
    shutil.copytree(instruct, context.final_model)
    assert run_audit(context, ["lineage"]).verdict == "clean"  # nothing to compare with
    report = run_audit(dataclasses.replace(context, reference_models=(instruct,)), ["lineage"])
    assert report.verdict == "flagged", report.findings
    [finding] = [f for f in report.findings if f.severity == "flag"]
    assert str(instruct) in str(finding.evidence)
