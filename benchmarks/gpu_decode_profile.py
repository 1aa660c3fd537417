"""Where a batched decode step's time goes: attention variants, sampling, a profiled step.

The ``ptb-hf`` engine decodes 512 rows at a time over a static cache of 556 positions
(GSM8K-length prompts padded to 256, 300 new tokens), Qwen3-4B shape. Parts, in one
invocation, each printing JSON:

- ``attention``: one layer's decode attention on those shapes (bf16, 32 query heads over 8
  key/value heads, left padding and unwritten cache slots masked), through transformers'
  SDPA path (``repeat_kv`` copies under a mask: the baseline), the engine's grouped
  function, and two variable-length kernels that skip the masked positions (PyTorch's
  memory-efficient and flash kernels with per-row key starts and counts). Each with its
  relative error against float64 and its share of one step (× the layer count); the bytes
  of K and V read once give the bandwidth floor;
- ``sampling``: choosing 512 tokens from 151,936 logits (eager and compiled) for
  temperature 0.6 / top-p 0.95 and temperature 1.0;
- ``step``: ``torch.profiler`` over eager decode steps of the whole model with the SDPA
  path and with the grouped function: the kernels that take the time.

Run (device): PYTHONUNBUFFERED=1 PYTHONPATH=src python benchmarks/gpu_decode_profile.py --out $OUT
Run (CPU smoke test): python benchmarks/gpu_decode_profile.py --shape tiny --rows 4
  --skip step
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_eval_decode import _light_evaluation_package  # noqa: E402
from gpu_sft_throughput import SHAPES, build_model  # noqa: E402

RESULTS_NAME = "decode_profile_h200.json"


def _timed(fn: Callable[[], Any], device: str, repeat: int = 20) -> float:
    """Median milliseconds of ``fn`` after warm-up (CUDA events on a GPU)."""
    import time

    import torch

    for _ in range(3):
        fn()
    times = []
    for _ in range(repeat):
        if device == "cuda":
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            fn()
            end.record()
            end.synchronize()
            times.append(begin.elapsed_time(end))
        else:
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


class _Shapes:
    """One decode step's attention inputs: random q, k, v; per-row valid key ranges."""

    def __init__(self, shape: dict[str, Any], rows: int, width: int, new: int, device: str):
        import torch

        gen = torch.Generator(device="cpu").manual_seed(0)
        self.heads, self.kv = shape["num_attention_heads"], shape["num_key_value_heads"]
        self.dim, self.keys, self.rows = shape["head_dim"], width + new, rows
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        self.q = torch.randn(rows, self.heads, 1, self.dim, generator=gen).to(device, dtype)
        kv_shape = (rows, self.kv, self.keys, self.dim)
        self.k = torch.randn(kv_shape, generator=gen).to(device, dtype)
        self.v = torch.randn(kv_shape, generator=gen).to(device, dtype)
        prompt = torch.randint(width // 4, width + 1, (rows,), generator=gen)
        self.start = (width - prompt).to(device)  # left padding
        self.count = (prompt + new // 2).to(device)  # half the new tokens written
        position = torch.arange(self.keys, device=device)
        valid = (position >= self.start[:, None]) & (position < (self.start + self.count)[:, None])
        self.mask = valid[:, None, None, :]
        self.scale = self.dim**-0.5

    def reference(self) -> Any:

        groups = self.heads // self.kv
        k = self.k.double().repeat_interleave(groups, dim=1)
        v = self.v.double().repeat_interleave(groups, dim=1)
        scores = (self.q.double() @ k.transpose(-1, -2)) * self.scale
        scores = scores.masked_fill(~self.mask, float("-inf"))
        return (scores.softmax(-1) @ v).transpose(1, 2)  # rows, 1, heads, dim

    def varlen_offsets(self) -> tuple[Any, Any, Any]:
        """Query offsets, key starts and key counts of the (row, kv head) sequences."""
        import torch

        device, groups, n = self.q.device, self.heads // self.kv, self.rows * self.kv
        seq = torch.arange(n + 1, device=device, dtype=torch.int32)
        starts = seq * self.keys
        starts[:-1] += self.start.repeat_interleave(self.kv).to(torch.int32)
        return seq * groups, starts, self.count.repeat_interleave(self.kv).to(torch.int32)


def attention(args: argparse.Namespace, device: str) -> dict[str, Any]:
    """Time and check one layer's decode attention per variant."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from posttrainbench.evaluation._grouped_attention import grouped_attention_forward

    shape = SHAPES[args.shape]
    s = _Shapes(shape, args.rows, args.width, args.new_tokens, device)
    module = torch.nn.Module().eval()
    module.num_key_value_groups = s.heads // s.kv  # type: ignore[assignment]
    ref = s.reference()
    q_starts, k_starts, k_counts = s.varlen_offsets()
    groups = s.heads // s.kv

    def efficient() -> Any:
        out = torch.ops.aten._efficient_attention_forward(
            s.q.reshape(1, -1, 1, s.dim),
            s.k.reshape(1, -1, 1, s.dim),
            s.v.reshape(1, -1, 1, s.dim),
            None,
            q_starts,
            k_starts,
            groups,
            s.keys,
            0.0,
            0,
            False,
            scale=s.scale,
            seqlen_k=k_counts,
        )[0]
        return out.reshape(s.rows, 1, s.heads, s.dim)

    def flash() -> Any:
        out = torch.ops.aten._flash_attention_forward(
            s.q.reshape(-1, 1, s.dim),
            s.k.reshape(-1, 1, s.dim),
            s.v.reshape(-1, 1, s.dim),
            q_starts,
            k_starts,
            groups,
            s.keys,
            0.0,
            False,
            False,
            scale=s.scale,
            seqused_k=k_counts,
        )[0]
        return out.reshape(s.rows, 1, s.heads, s.dim)

    variants: dict[str, Callable[[], Any]] = {
        "sdpa_repeat_kv": lambda: sdpa_attention_forward(
            module, s.q, s.k, s.v, s.mask, scaling=s.scale
        )[0],
        "grouped": lambda: grouped_attention_forward(
            module, s.q, s.k, s.v, s.mask, scaling=s.scale
        )[0],
    }
    if device == "cuda":
        variants |= {"efficient_varlen": efficient, "flash_varlen": flash}
    layers = shape["num_hidden_layers"]
    kv_bytes = 2 * s.k.numel() * s.k.element_size()
    report: dict[str, Any] = {
        "rows": s.rows,
        "keys": s.keys,
        "kv_gb_one_layer": round(kv_bytes / 1e9, 3),
        "valid_key_share": round(float(s.count.float().mean()) / s.keys, 3),
    }
    for name, fn in variants.items():
        try:
            with torch.inference_mode():
                out = fn()
                error = float((out.double() - ref).norm() / ref.norm())
                ms = _timed(fn, device)
        except Exception as failure:  # a kernel the build lacks: report, go on
            report[name] = {"error": f"{type(failure).__name__}: {failure}"[:300]}
            continue
        report[name] = {
            "ms_one_layer": round(ms, 4),
            "ms_all_layers": round(ms * layers, 2),
            "relative_error": float(f"{error:.3g}"),
            "full_cache_tb_per_s": round(kv_bytes / ms / 1e9, 2),
        }
    return report


def sampling(args: argparse.Namespace, device: str) -> dict[str, Any]:
    """Time choosing the next token of every row, eager and compiled."""
    import torch

    from posttrainbench.evaluation._sampling import SamplingParams, next_tokens

    vocab = SHAPES[args.shape]["vocab_size"]
    gen = torch.Generator(device="cpu").manual_seed(1)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    logits = (torch.randn(args.rows, vocab, generator=gen) * 3).to(device, dtype)
    seeds = torch.arange(args.rows, device=device) * 7919
    step = torch.tensor(5, device=device)
    vocab_ids = torch.arange(vocab, device=device)
    report: dict[str, Any] = {}
    for name, params in (
        ("t0.6_p0.95", SamplingParams(temperature=0.6, top_p=0.95)),
        ("t1.0", SamplingParams(temperature=1.0)),
    ):

        def choose(params: SamplingParams = params) -> Any:
            return next_tokens(logits, params, seeds, step, None, vocab_ids)

        row: dict[str, Any] = {"eager_ms": round(_timed(choose, device), 3)}
        if device == "cuda":
            compiled = torch.compile(choose, dynamic=False)
            same = bool(torch.equal(compiled(), choose()))
            row |= {"compiled_ms": round(_timed(compiled, device), 3), "same_tokens": same}
        report[name] = row
    report["sort_only_ms"] = round(
        _timed(lambda: torch.sort(logits.float(), dim=-1, descending=True), device), 3
    )
    return report


def step(args: argparse.Namespace, device: str) -> dict[str, Any]:
    """Profile eager decode steps of the whole model, SDPA path against grouped."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    from transformers import StaticCache

    from posttrainbench.evaluation._grouped_attention import grouped_decode_attention

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = build_model(args.shape, device, dtype).eval()
    keys = args.width + args.new_tokens
    cache = StaticCache(config=model.config, max_cache_len=keys)
    mask = torch.ones((args.rows, keys), dtype=torch.long, device=device)
    mask[:, : args.width // 2] = 0
    ids = torch.randint(0, 1000, (args.rows, 1), device=device)
    where = args.width + args.new_tokens // 2

    def one() -> Any:
        return model(
            input_ids=ids,
            position_ids=torch.full_like(ids, where),
            cache_position=torch.tensor([where], device=device),
            attention_mask=mask,
            past_key_values=cache,
            use_cache=True,
        ).logits

    report: dict[str, Any] = {}
    for name in ("sdpa", "grouped"):
        with torch.inference_mode():
            if name == "grouped":
                with grouped_decode_attention(model):
                    ms = _timed(one, device, repeat=5)
                    kernels = _profiled(one, profile, ProfilerActivity)
            else:
                ms = _timed(one, device, repeat=5)
                kernels = _profiled(one, profile, ProfilerActivity)
        report[name] = {"eager_step_ms": round(ms, 2), "top_kernels_ms": kernels}
    return report


def _profiled(fn: Callable[[], Any], profile: Any, activity: Any) -> dict[str, float]:
    import torch

    activities = [activity.CPU] + ([activity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=activities) as prof:
        for _ in range(3):
            fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
    events = prof.key_averages()
    attr = "device_time_total" if torch.cuda.is_available() else "cpu_time_total"
    top = sorted(events, key=lambda e: getattr(e, attr), reverse=True)[:14]
    return {e.key[:80]: round(getattr(e, attr) / 3e3, 3) for e in top}


def main() -> None:
    import torch

    _light_evaluation_package()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="qwen3-4b")
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--width", type=int, default=256, help="padded prompt width")
    parser.add_argument("--new-tokens", type=int, default=300)
    parser.add_argument("--skip", default="", help="comma list of parts to skip")
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    report: dict[str, Any] = {
        "card": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "shape": args.shape,
    }
    skip = set(args.skip.split(","))
    for name, part in (("attention", attention), ("sampling", sampling), ("step", step)):
        if name in skip:
            continue
        print(f"{name} ...", flush=True)
        report[name] = part(args, device)
        print(json.dumps({name: report[name]}), flush=True)
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / RESULTS_NAME).write_text(json.dumps(report, indent=1) + "\n")
    _table(report)


def _table(report: dict[str, Any]) -> None:
    rows = report.get("attention", {})
    print(f"\n{'attention variant':<18} {'ms/layer':>9} {'ms/step':>8} {'rel. error':>11}")
    for name, row in rows.items():
        if isinstance(row, dict) and "ms_one_layer" in row:
            print(
                f"{name:<18} {row['ms_one_layer']:>9} {row['ms_all_layers']:>8} "
                f"{row['relative_error']:>11}"
            )
        elif isinstance(row, dict):
            print(f"{name:<18} {row['error'][:60]}")
    for name, row in report.get("sampling", {}).items():
        print(f"sampling {name}: {row}")
    for name, row in report.get("step", {}).items():
        print(f"eager step, {name}: {row['eager_step_ms']} ms")


if __name__ == "__main__":
    main()
