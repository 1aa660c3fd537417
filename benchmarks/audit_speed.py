"""Audit time of a 4B-model trial, per detector (no memorization test), warm page cache.

Run: HF_HUB_OFFLINE=1 python benchmarks/audit_speed.py [--cache DIR] [--repeats 1]

Builds (once, cached under ``--cache``) a Qwen3-4B-shaped bf16 base and a fine-tuned
``final`` (``synthetic_checkpoint``: 8.0 GB each, 3 shards), then a trial-shaped folder
around them: ``workspace/`` with ``final_model`` (hard links to the cached shards), the
harness's ``task/``, 5,000 allowed training rows, the agent's code; the agent's ``/tmp``
and ``$HOME`` folders; a write journal with a deleted file; a test-access record; a trace;
the instruct counterpart's weight fingerprint (an update of its own, not on the host).
The submission is what the audit reads, as in a trial (``submission/``: the same shards).

Times, on a warm page cache (one untimed read of every shard first): a plain sequential
read of both checkpoints (the floor every weight check shares), then each default
detector but ``memorization`` (its cost is ``benchmarks/memorization_cost.py``), each in
wall and CPU seconds. Target: the whole audit <= 60 s for a 4B model on a CPU host.
Prints JSON and a table, writes ``benchmarks/results/audit_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from lineage_speed import raw_read  # noqa: E402
from synthetic_checkpoint import cached_pair, weight_files  # noqa: E402

from posttrainbench.audit import AuditContext, decide, get_detector  # noqa: E402
from posttrainbench.audit._files import file_hashes  # noqa: E402
from posttrainbench.audit.fingerprint import (  # noqa: E402
    Fingerprint,
    fingerprint_checkpoint,
    load_fingerprint,
    save_fingerprint,
)
from posttrainbench.audit.journal import Journal  # noqa: E402
from posttrainbench.audit.registry import DEFAULT_DETECTORS  # noqa: E402
from posttrainbench.benchmarks import arith, get_benchmark  # noqa: E402
from posttrainbench.testing import build_tiny_model  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "audit_speed.json"
DETECTORS = tuple(name for name in DEFAULT_DETECTORS if name != "memorization")
_DEFAULT_CACHE = Path(tempfile.gettempdir()) / "ptb-bench-qwen3-4b"


def _instruct_fingerprint(base: Path, out: Path) -> Path:
    """The base's fingerprint moved along a seeded direction: an instruct model's own update."""
    import numpy as np

    if out.is_file():
        return out
    sketch = fingerprint_checkpoint(base)
    rng = np.random.default_rng(3)
    moved = {
        name: (value + 0.05 * np.abs(value).mean() * rng.standard_normal(value.shape)).astype(
            np.float32
        )
        for name, value in sketch.sketches.items()
    }
    save_fingerprint(Fingerprint("Qwen/Qwen3-4B (synthetic)", moved, sketch.rows, sketch.dims), out)
    load_fingerprint(out)  # fail here, not in the timed audit
    return out


def _base_manifest(base: Path, out: Path) -> dict[str, dict[str, object]]:
    """The base model's manifest as prepare records it (cached: it hashes 8 GB)."""
    if not out.is_file():
        out.write_text(json.dumps(file_hashes(base, trusted=True)))
    manifest: dict[str, dict[str, object]] = json.loads(out.read_text())
    return manifest


def _trial(cache: Path, root: Path) -> AuditContext:
    tiny = build_tiny_model(cache / "tiny", seed=0, preset="test")
    base, final = cached_pair(cache / "pair", tokenizer_from=tiny)
    workspace = root / "workspace"
    submission = root / "submission"
    for folder in (workspace / "final_model", submission):
        folder.mkdir(parents=True)
        for path in final.iterdir():
            os.link(path, folder / path.name)  # the same bytes, no copy
    task = workspace / "task"
    task.mkdir()
    (task / "evaluate.py").write_text("print('evaluate')\n")
    (task / "timer.sh").write_text("#!/bin/sh\necho 1h\n")
    rows = [{"q": i.question, "a": i.answer} for i in arith.train_split(5000)]
    (workspace / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (workspace / "train.py").write_text("from sft_lib import sft\nsft('base', 'final', [])\n")
    for name, files in (("agent_tmp", {"scratch.txt": "tokens cached\n"}), ("agent_home", {})):
        (root / name).mkdir()
        for file, text in files.items():
            (root / name / file).write_text(text)
    journal = Journal(root / "journal")
    deleted = workspace / "old_train.jsonl"
    deleted.write_text((workspace / "train.jsonl").read_text()[:100_000])
    for path in (workspace / "train.py", deleted):
        journal.record(path)
    deleted.unlink()
    access = root / "access.jsonl"
    access.write_text(json.dumps({"event": "evaluate-write", "detail": "/tmp/x.json"}) + "\n")
    trace = root / "agent" / "raw.jsonl"
    trace.parent.mkdir()
    trace.write_text(json.dumps({"line": "python train.py"}) + "\n")
    return AuditContext(
        workspace=workspace,
        task_dir=task,
        final_model=submission,
        trace=trace,
        base_model=base,
        benchmark=get_benchmark("arith-mini"),
        given_files=file_hashes(task),
        base_model_files=_base_manifest(base, cache / "base-manifest.json"),
        writable_dirs=(root / "agent_tmp", root / "agent_home"),
        journal=root / "journal",
        access_log=access,
        instruct_fingerprints=(_instruct_fingerprint(base, cache / "instruct.npz"),),
    )


def _timed(function: object) -> tuple[float, float, object]:
    cpu, wall = time.process_time(), time.perf_counter()
    result = function()  # type: ignore[operator]
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    """Time each detector of the audit of a 4B-shaped trial and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=_DEFAULT_CACHE, help="checkpoints kept here")
    parser.add_argument("--repeats", type=int, default=1, help="timed passes (best is kept)")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trial-", dir=args.cache) as temp:
        context = _trial(args.cache, Path(temp))
        shards = weight_files(context.base_model) + weight_files(context.final_model)
        size = sum(path.stat().st_size for path in shards)
        raw_read(shards)  # warm the page cache
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.repeats):
            wall, cpu, _ = _timed(lambda: raw_read(shards))
            best["raw read (base + final)"] = min(
                best.get("raw read (base + final)", (wall, cpu)), (wall, cpu)
            )
            findings, ran = [], []
            for name in DETECTORS:
                detector = get_detector(name)
                wall, cpu, found = _timed(lambda d=detector: d(context))
                best[name] = min(best.get(name, (wall, cpu)), (wall, cpu))
                findings += found  # type: ignore[operator]
                ran.append(name)
            report = decide(findings, {}, ran)
    audit_wall = sum(best[name][0] for name in DETECTORS)
    audit_cpu = sum(best[name][1] for name in DETECTORS)
    record = {
        "checkpoint": "Qwen3-4B shape, bf16, 3 shards (synthetic)",
        "checkpoint_bytes": size // 2,
        "seconds": {
            name: {"wall": round(w, 2), "cpu": round(c, 2)} for name, (w, c) in best.items()
        },
        "audit_wall_s": round(audit_wall, 2),
        "audit_cpu_s": round(audit_cpu, 2),
        "target_s": 60,
        "verdict": report.verdict,
        "flags": report.reasons,
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_1m_at_end": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    print(json.dumps(record, indent=2))
    print()
    print("| step | wall s | CPU s |")
    print("|---|---|---|")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:.1f} | {cpu:.1f} |")
    print(f"| **audit, without memorization** | **{audit_wall:.1f}** | **{audit_cpu:.1f}** |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
