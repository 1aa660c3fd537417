"""Lineage check time vs raw read time of the same files, and peak memory vs model size.

Run: HF_HUB_OFFLINE=1 python benchmarks/lineage_speed.py --qwen3-4b [--cache DIR]
     HF_HUB_OFFLINE=1 python benchmarks/lineage_speed.py [--mb 300 100] [--repeats 3]
     [--dir /tmp] [--threads 1]

``--qwen3-4b``: the Qwen3-4B-shaped bf16 pair of ``synthetic_checkpoint`` (8.0 GB each,
written once under ``--cache``), warm page cache only (the #17 target: lineage <= 1.5x the
raw read, memory <= 2 GB); prints JSON and a table, writes
``benchmarks/results/lineage_speed.json``. Otherwise, for each ``--mb`` size, a
random-weight bf16 checkpoint shaped like a small transformer (embedding, attention and
MLP matrices, norm vectors) is written as the "base", and a "final" one with every weight
perturbed (a stand-in fine-tune), timed warm and cold. Timings:

- raw read: every byte of the two checkpoints read with plain sequential ``readinto``
  (the floor; measured in the same invocation);
- lineage: ``compare_checkpoints(final, base)``, the per-tensor distance pass, on its
  default threads (``_compare.default_workers``) and on one thread.

Wall seconds are the figure; CPU seconds of this process (user + system, all threads) are
printed too, since a busy shared machine distorts wall time. Memory is measured in a
fresh child process: its peak RSS (``VmHWM``) minus that of a child that only imports the
same modules, and the tracemalloc peak of Python allocations.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))
# The process gets --threads torch threads (default 1); the check itself pins torch to one.
_THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _THREADS

HIDDEN, INTERMEDIATE, VOCAB = 1024, 2816, 32000
_BYTES_PER_PARAM = 2  # bf16


def layer_shapes(index: int) -> dict[str, tuple[int, ...]]:
    prefix = f"model.layers.{index}"
    return {
        f"{prefix}.self_attn.q_proj.weight": (HIDDEN, HIDDEN),
        f"{prefix}.self_attn.k_proj.weight": (HIDDEN // 4, HIDDEN),
        f"{prefix}.self_attn.v_proj.weight": (HIDDEN // 4, HIDDEN),
        f"{prefix}.self_attn.o_proj.weight": (HIDDEN, HIDDEN),
        f"{prefix}.mlp.gate_proj.weight": (INTERMEDIATE, HIDDEN),
        f"{prefix}.mlp.up_proj.weight": (INTERMEDIATE, HIDDEN),
        f"{prefix}.mlp.down_proj.weight": (HIDDEN, INTERMEDIATE),
        f"{prefix}.input_layernorm.weight": (HIDDEN,),
        f"{prefix}.post_attention_layernorm.weight": (HIDDEN,),
    }


def shapes_for(megabytes: int) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (VOCAB, HIDDEN)}
    per_layer = sum(_numel(shape) for shape in layer_shapes(0).values())
    budget = megabytes * 1_000_000 // _BYTES_PER_PARAM - _numel((VOCAB, HIDDEN))
    for index in range(max(1, budget // per_layer)):
        shapes.update(layer_shapes(index))
    shapes["model.norm.weight"] = (HIDDEN,)
    return shapes


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def write_pair(directory: Path, megabytes: int) -> tuple[Path, Path]:
    """Write base/ and final/ (base + 1% noise), one tensor at a time."""
    import torch
    from safetensors.torch import save_file

    base, final = directory / "base", directory / "final"
    base.mkdir(parents=True)
    final.mkdir(parents=True)
    generator = torch.Generator().manual_seed(0)
    base_tensors, final_tensors = {}, {}
    for name, shape in shapes_for(megabytes).items():
        weight = torch.randn(shape, generator=generator) * 0.02
        noise = torch.randn(shape, generator=generator) * 0.0002
        base_tensors[name] = weight.to(torch.bfloat16)
        final_tensors[name] = (weight + noise).to(torch.bfloat16)
    save_file(base_tensors, base / "model.safetensors")
    del base_tensors
    save_file(final_tensors, final / "model.safetensors")
    return base, final


def raw_read(files: list[Path]) -> int:
    buffer = bytearray(16 << 20)
    total = 0
    for file in files:
        with file.open("rb", buffering=0) as handle:
            while count := handle.readinto(buffer):  # type: ignore[attr-defined]
                total += count
    return total


def evict(files: list[Path]) -> None:
    """Drop these files (only these) from the page cache, for a cold read."""
    for file in files:
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def timed(function: object, repeats: int, cold: list[Path] | None = None) -> tuple[float, float]:
    """Best (CPU seconds, wall seconds) over ``repeats`` runs; files in ``cold`` evicted first."""
    best_cpu = best_wall = float("inf")
    for _ in range(repeats):
        if cold:
            evict(cold)
        cpu, wall = time.process_time(), time.perf_counter()
        function()  # type: ignore[operator]
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_cpu, best_wall


def child_memory(base: Path | None, final: Path | None) -> tuple[float, float]:
    """Peak RSS (MB) and tracemalloc peak (MB) of a child running the check (or not)."""
    args = [sys.executable, __file__, "--child", str(base or ""), str(final or "")]
    args += ["--threads", _THREADS]
    output = subprocess.run(args, check=True, capture_output=True, text=True).stdout.split()
    return float(output[-2]), float(output[-1])


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ``ru_maxrss``: that survives the fork+exec of a child
    and would report the parent's peak; ``VmHWM`` belongs to the exec'd image."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(base: str, final: str) -> None:
    import tracemalloc

    import torch  # noqa: F401  (the baseline child imports what the check imports)

    from posttrainbench.audit.lineage import compare_checkpoints

    tracemalloc.start()
    if base:
        compare_checkpoints(Path(final), Path(base))
    peak_python = tracemalloc.get_traced_memory()[1] / 1e6
    peak_rss = peak_rss_mb()
    print(f"{peak_rss:.1f} {peak_python:.2f}")


def _pass(final: Path, base: Path, workers: int | None) -> None:
    from posttrainbench.audit._compare import compare_sources
    from posttrainbench.audit._tensors import SafetensorsCheckpoint

    with SafetensorsCheckpoint(final) as a, SafetensorsCheckpoint(base) as b:
        compare_sources(a, [b], target_label="final", reference_labels=["base"], workers=workers)


def qwen3_4b(cache: Path, repeats: int) -> None:
    """The #17 figure: lineage vs raw read on a warm cache, 8 GB checkpoints."""
    import json

    from synthetic_checkpoint import cached_pair, weight_files

    from posttrainbench.audit._compare import default_workers
    from posttrainbench.audit.lineage import compare_checkpoints

    base, final = cached_pair(cache / "pair")
    files = weight_files(base) + weight_files(final)
    comparison = compare_checkpoints(final, base)
    assert comparison.architecture_matches and 0 < comparison.relative_distance < 0.05
    idle_rss, _ = child_memory(None, None)
    peak_rss, peak_python = child_memory(base, final)
    raw_read(files)  # warm
    raw_cpu, raw_wall = timed(lambda: raw_read(files), repeats)
    workers = default_workers()
    runs = {}
    for threads in dict.fromkeys((workers, 1)):
        runs[threads] = timed(lambda t=threads: _pass(final, base, t), repeats)
    record = {
        "checkpoint": "Qwen3-4B shape, bf16, 3 shards (synthetic), final vs base",
        "bytes_read": sum(file.stat().st_size for file in files),
        "raw_read": {"wall_s": round(raw_wall, 2), "cpu_s": round(raw_cpu, 2)},
        "lineage": {
            f"{threads}_threads": {
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "wall_ratio_to_raw_read": round(wall / raw_wall, 2),
            }
            for threads, (cpu, wall) in runs.items()
        },
        "peak_rss_mb_above_imports": round(peak_rss - idle_rss),
        "peak_python_mb": round(peak_python, 1),
        "targets": {"wall_ratio": 1.5, "memory_mb": 2000},
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_1m_at_end": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    print(json.dumps(record, indent=2))
    print()
    print("| pass (warm cache, 16 GB) | wall s | CPU s | wall / raw read |")
    print("|---|---|---|---|")
    print(f"| raw sequential read | {raw_wall:.1f} | {raw_cpu:.1f} | 1.00 |")
    for threads, (cpu, wall) in runs.items():
        print(f"| lineage, {threads} threads | {wall:.1f} | {cpu:.1f} | {wall / raw_wall:.2f} |")
    print(f"peak RSS above imports: {peak_rss - idle_rss:.0f} MB (target <= 2000)")
    out = Path(__file__).parent / "results" / "lineage_speed.json"
    out.write_text(json.dumps(record, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qwen3-4b", action="store_true", help="the 8 GB Qwen3-4B pair")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ptb-bench-qwen3-4b",
        help="where the Qwen3-4B pair is kept",
    )
    parser.add_argument("--mb", type=int, nargs="+", default=[300, 100], help="sizes, MB")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write checkpoints")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of the process (the check pins itself to one)",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return
    if args.qwen3_4b:
        qwen3_4b(args.cache, args.repeats)
        return

    from posttrainbench.audit.lineage import compare_checkpoints

    idle_rss, _ = child_memory(None, None)
    print(f"baseline child (imports only): peak RSS {idle_rss:.0f} MB")
    header = (
        f"{'size MB':>8} {'cache':>5} {'raw CPU s':>10} {'lineage CPU s':>14} {'ratio':>6} "
        f"{'raw wall s':>11} {'lineage wall s':>15} {'ratio':>6} {'+RSS MB':>8} {'py MB':>6}"
    )
    print(header)
    for megabytes in args.mb:
        with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
            base, final = write_pair(Path(scratch), megabytes)
            files = [base / "model.safetensors", final / "model.safetensors"]
            size = sum(file.stat().st_size for file in files) / 2e6
            comparison = compare_checkpoints(final, base)
            assert comparison.architecture_matches and 0 < comparison.relative_distance < 0.05
            peak_rss, peak_python = child_memory(base, final)
            for cache, cold in (("warm", None), ("cold", files)):
                raw_read(files)  # warm: both measurements find the files cached
                raw_cpu, raw_wall = timed(lambda f=files: raw_read(f), args.repeats, cold)
                check_cpu, check_wall = timed(
                    lambda f=final, b=base: compare_checkpoints(f, b), args.repeats, cold
                )
                print(
                    f"{size:>8.0f} {cache:>5} {raw_cpu:>10.3f} {check_cpu:>14.3f} "
                    f"{check_cpu / raw_cpu:>6.2f} {raw_wall:>11.3f} {check_wall:>15.3f} "
                    f"{check_wall / raw_wall:>6.2f} {peak_rss - idle_rss:>8.0f} "
                    f"{peak_python:>6.2f}"
                )


if __name__ == "__main__":
    main()
