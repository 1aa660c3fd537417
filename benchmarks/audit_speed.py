"""Audit time (every default detector; no memorization test) for a checkpoint of a given size.

Run: HF_HUB_OFFLINE=1 python benchmarks/audit_speed.py [--mb 1000] [--dir /tmp]

Writes a synthetic bf16 base/final pair (``lineage_speed.write_pair``: transformer-shaped
matrices, final = base + 1% noise) with the tiny model's config and tokenizer, places the
final one as ``final_model`` in a trial-shaped workspace next to a few data files, records
an instruct fingerprint, and times ``run_audit`` twice: the first pass warms the page
cache, the second is the figure (target: <= 60 s for a 4B model, 8 GB in bf16, on CPU).
Also prints the time of one plain read of the two checkpoints (the floor) for comparison,
and writes JSON to ``benchmarks/results/audit_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from lineage_speed import raw_read, write_pair  # noqa: E402

from posttrainbench.audit import AuditContext, run_audit  # noqa: E402
from posttrainbench.audit._files import file_hashes  # noqa: E402
from posttrainbench.audit.fingerprint import fingerprint_checkpoint, save_fingerprint  # noqa: E402
from posttrainbench.benchmarks import arith, get_benchmark  # noqa: E402
from posttrainbench.testing import build_tiny_model  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "audit_speed.json"


def _trial(root: Path, megabytes: int) -> AuditContext:
    base, final = write_pair(root / "weights", megabytes)
    tiny = build_tiny_model(root / "tiny", seed=0, preset="test")
    for folder in (base, final):
        for path in tiny.iterdir():
            if path.suffix != ".safetensors":
                shutil.copy2(path, folder / path.name)
    workspace = root / "trial" / "workspace"
    task = workspace / "task"
    task.mkdir(parents=True)
    (task / "evaluate.py").write_text("print('evaluate')\n")
    shutil.move(final, workspace / "final_model")
    rows = [{"q": i.question, "a": i.answer} for i in arith.train_split(5000)]
    (workspace / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (workspace / "train.py").write_text("from sft_lib import sft\nsft('base', 'final', [])\n")
    fingerprint = root / "instruct.npz"
    save_fingerprint(fingerprint_checkpoint(base), fingerprint)
    trace = root / "trial" / "agent" / "raw.jsonl"
    trace.parent.mkdir(parents=True)
    trace.write_text(json.dumps({"line": "python train.py"}) + "\n")
    return AuditContext(
        workspace=workspace,
        task_dir=task,
        final_model=workspace / "final_model",
        trace=trace,
        base_model=base,
        benchmark=get_benchmark("arith-mini"),
        given_files=file_hashes(task),
        base_model_files=file_hashes(base),
        instruct_fingerprints=(fingerprint,),
    )


def main() -> None:
    """Time the audit of a synthetic checkpoint and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=8000, help="checkpoint size in MB (bf16)")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ptb-audit-speed-", dir=args.dir) as temp:
        context = _trial(Path(temp), args.mb)
        files = [
            *context.base_model.glob("*.safetensors"),
            *context.final_model.glob("*.safetensors"),
        ]
        started = time.monotonic()
        raw_read(files)
        read_s = time.monotonic() - started
        timings = []
        for _ in range(2):
            started = time.monotonic()
            report = run_audit(context)
            timings.append(time.monotonic() - started)
    record = {
        "checkpoint_mb": args.mb,
        "raw_read_both_s": round(read_s, 2),
        "audit_cold_s": round(timings[0], 2),
        "audit_warm_s": round(timings[1], 2),
        "verdict": report.verdict,
        "detectors": report.detectors_run,
    }
    print("| checkpoint | raw read (base+final) | audit, first | audit, warm cache |")
    print("|---|---|---|---|")
    print(f"| {args.mb} MB bf16 | {read_s:.1f} s | {timings[0]:.1f} s | {timings[1]:.1f} s |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
