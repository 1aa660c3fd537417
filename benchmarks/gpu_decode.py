"""Decode throughput of Hugging Face ``generate`` on a GPU: the ``hf`` evaluation fallback.

A random-weight model of the real Qwen3-4B's shape (bf16) generates ``--new-tokens``
greedy tokens after a ``--prompt-len`` prompt, at several batch sizes, three ways:

- ``eager``: the default dynamic cache, no compilation (what a plain ``generate`` does);
- ``static``: ``cache_implementation="static"`` with ``disable_compile=True``;
- ``static-compile``: the static cache with transformers' automatic ``torch.compile``
  of the decoding step (``mode="reduce-overhead"``: CUDA graphs).

Decode tokens/s counts only the decoding steps (a streamer timestamps every step; the
prefill and the first step are left out), over the whole batch. Each (mode, batch) is
run once untimed first, so compilation stays out of the figures (its time is reported).
The roofline is the weights-bandwidth bound: every step reads all weights once, at the
device-to-device copy bandwidth measured in the same run.

Run (device): PYTHONUNBUFFERED=1 python benchmarks/gpu_decode.py --out $OUT
Run (CPU smoke test):
    python benchmarks/gpu_decode.py --shape tiny --batches 1 4 --modes eager static
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_sft_throughput import SHAPES  # noqa: E402

MODES = ("eager", "static", "static-compile")


class _StepClock:
    """A ``generate`` streamer that records when each decoding step's tokens arrive."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.times: list[float] = []

    def put(self, value: Any) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def copy_bandwidth_gbs(device: str) -> float | None:
    """Device-to-device copy bandwidth (bytes read + written), GB/s."""
    if device != "cuda":
        return None
    import torch

    src = torch.empty(2 * 2**30, dtype=torch.uint8, device=device).random_()
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        dst.copy_(src)
    stop.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(stop) / 1e3 / 10
    del src, dst
    return float(2 * 2 * 2**30 / seconds / 1e9)


def measure(
    model: Any, mode: str, batch: int, args: argparse.Namespace, device: str
) -> dict[str, Any]:
    """One (mode, batch): warm-up run, then a timed run."""
    import torch

    generator = torch.Generator(device="cpu").manual_seed(batch)
    prompt = torch.randint(
        0, model.config.vocab_size, (batch, args.prompt_len), generator=generator
    ).to(device)
    kwargs: dict[str, Any] = {
        "max_new_tokens": args.new_tokens,
        "min_new_tokens": args.new_tokens,
        "do_sample": False,
        "pad_token_id": 0,
    }
    if mode != "eager":
        kwargs["cache_implementation"] = "static"
    if mode == "static":
        kwargs["disable_compile"] = True
    start = time.perf_counter()
    with torch.inference_mode():
        model.generate(prompt, **kwargs)  # warm-up (compiles in static-compile)
    warmup_s = time.perf_counter() - start
    clock = _StepClock(device)
    with torch.inference_mode():
        out = model.generate(prompt, streamer=clock, **kwargs)
    generated = out.shape[1] - args.prompt_len
    # times[0]: the prompt; times[1]: after prefill + first token. Decode = the rest.
    skip = 2
    decode_steps = len(clock.times) - skip
    decode_s = clock.times[-1] - clock.times[skip - 1]
    per_step = decode_s / decode_steps
    return {
        "mode": mode,
        "batch": batch,
        "generated": generated,
        "decode_tokens_per_s": round(batch / per_step, 1),
        "ms_per_step": round(per_step * 1e3, 3),
        "warmup_s": round(warmup_s, 1),
    }


def main() -> None:
    import torch
    from transformers import AutoModelForCausalLM, Qwen3Config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="qwen3-4b")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32, 128])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--prompt-len", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--budget-s", type=float, default=420.0, help="skip runs after this")
    parser.add_argument("--out", type=Path, help="folder for decode.json")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    config = Qwen3Config(**SHAPES[args.shape], attn_implementation="sdpa")
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(
            config, dtype=torch.bfloat16 if device == "cuda" else torch.float32
        ).eval()
    params = sum(p.numel() for p in model.parameters())
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    bandwidth = copy_bandwidth_gbs(device)
    header = {
        "card": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "params": params,
        "weight_gb": round(weight_bytes / 1e9, 2),
        "copy_gbs": round(bandwidth, 0) if bandwidth else None,
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "prompt_len": args.prompt_len,
        "new_tokens": args.new_tokens,
    }
    print(json.dumps(header), flush=True)
    start = time.monotonic()
    rows: list[dict[str, Any]] = []
    for mode in args.modes:
        for batch in args.batches:
            if time.monotonic() - start > args.budget_s:
                rows.append({"mode": mode, "batch": batch, "error": "skipped: out of budget"})
                continue
            try:
                row = measure(model, mode, batch, args, device)
            except Exception as error:  # noqa: BLE001 - one failing mode must not hide the rest
                row = {"mode": mode, "batch": batch, "error": f"{type(error).__name__}: {error}"}
            if bandwidth and "error" not in row:
                roofline = batch / (weight_bytes / (bandwidth * 1e9))
                row["roofline_tokens_per_s"] = round(roofline, 0)
                row["of_roofline"] = round(row["decode_tokens_per_s"] / roofline, 4)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(
        f"\ncard {header['card']}, copy {header['copy_gbs']} GB/s, weights {header['weight_gb']} GB"
    )
    print(f"{'mode':16} {'batch':>5} {'tok/s':>9} {'ms/step':>8} {'roofline':>9} {'warm-up s':>9}")
    for row in rows:
        if "error" in row:
            print(f"{row['mode']:16} {row['batch']:>5} {row['error'][:100]}")
            continue
        roof = row.get("roofline_tokens_per_s")
        print(
            f"{row['mode']:16} {row['batch']:>5} {row['decode_tokens_per_s']:>9.0f} "
            f"{row['ms_per_step']:>8.2f} {roof if roof else '-':>9} {row['warmup_s']:>9}"
        )
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "decode.json").write_text(json.dumps({**header, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
