"""Packed vs padded training on ragged rows: useful tokens/s and MFU of the reference recipe.

Synthetic rows are drawn from the token-length histograms in
``benchmarks/data/sft_lengths.json`` (GSM8K, NuminaMath-CoT, No Robots: see the file for
how those histograms were made), prompt then completion, loss on the completion only.
Each dataset is trained for a few optimizer steps of 32 records through the recipe's own
``build_trainer``, twice in the same process on the same random-weight model:

- ``padded``: the recipe before packing: micro-batches of 8 records, each padded to the
  longest record of its micro-batch (the baseline);
- ``packed``: the recipe's GPU default: records packed best-fit into rows of
  ``max_length`` (1024) tokens, document-masked attention (``agents/_packing.py``).

Useful tokens are the records' own tokens (not padding); loss tokens are the completions'.
MFU counts 6N FLOPs per useful token (N = all parameters, attention not counted) against
``--peak-tflops`` (989, the H100/H200 SXM dense bf16 datasheet figure). PyTorch is capped at
``--memory-cap-gib`` (79) so the setting fits an H100.

Run (device): PYTHONUNBUFFERED=1 python benchmarks/gpu_packing.py --out $OUT
Run (CPU smoke test): python benchmarks/gpu_packing.py --shape tiny --steps 1 --warmup 1
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_sft_throughput import build_model  # noqa: E402

HISTOGRAMS = Path(__file__).resolve().parent / "data" / "sft_lengths.json"
BATCH = 32
"""Records per optimizer step (the recipe's default)."""


def draw_rows(dataset: str, count: int, max_length: int, vocab: int) -> list[dict[str, Any]]:
    """``count`` tokenized rows whose lengths follow ``dataset``'s histogram."""
    spec = json.loads(HISTOGRAMS.read_text())["datasets"][dataset]
    rng = random.Random(0)
    bins = spec["bins"]
    rows = []
    for _ in range(count):
        low, high, _share = rng.choices(bins, weights=[b[2] for b in bins])[0]
        length = min(rng.randrange(low, high), max_length)
        prompt = max(1, round(length * spec["prompt_share"]))
        rows.append(
            {
                "input_ids": [rng.randrange(vocab) for _ in range(length)],
                "completion_mask": [0] * prompt + [1] * (length - prompt),
            }
        )
    return rows


def measure(
    model: Any, tokenizer: Any, rows: list[dict[str, Any]], settings: Any, args: Any
) -> dict[str, Any]:
    """Train ``args.warmup + args.steps`` optimizer steps; tokens/s over the timed ones."""
    import datasets
    import torch
    from transformers import PrinterCallback, TrainerCallback

    from posttrainbench.agents import sft_recipe

    model.set_attn_implementation("sdpa")  # packing switches it; padded runs need it back
    cuda = settings.on_gpu
    times: list[float] = []
    batches: list[tuple[int, int]] = []

    phases: list[tuple[float, float]] = []

    class _Timer(TrainerCallback):  # type: ignore[misc]
        start = before_optimizer = 0.0

        def on_step_begin(self, *_: Any, **__: Any) -> None:
            self.start = _now(cuda)

        def on_pre_optimizer_step(self, *_: Any, **__: Any) -> None:
            self.before_optimizer = _now(cuda)

        def on_step_end(self, *_: Any, **__: Any) -> None:
            end = _now(cuda)
            times.append(end - self.start)
            phases.append((self.before_optimizer - self.start, end - self.before_optimizer))

    steps = args.warmup + args.steps
    with tempfile.TemporaryDirectory(prefix="ptb-pack-bench-") as tmp:
        trainer = sft_recipe.build_trainer(
            model,
            tokenizer,
            datasets.Dataset.from_list(rows),
            settings,
            scratch=Path(tmp),
            max_steps=steps,
            learning_rate=1e-5,
            batch_size=BATCH,
            callbacks=[_Timer()],
        )
        trainer.remove_callback(PrinterCallback)
        collate = trainer.data_collator

        def counting(examples: list[dict[str, Any]]) -> dict[str, Any]:
            batch = collate(examples)
            mask = batch.get("attention_mask")
            useful = int(mask.sum()) if mask is not None else batch["input_ids"].numel()
            batches.append((useful, int((batch["labels"] != -100).sum())))
            return dict(batch)

        trainer.data_collator = counting
        accumulation = trainer.args.gradient_accumulation_steps
        micro = trainer.args.per_device_train_batch_size
        trainer.train()
        del trainer
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    timed = slice(args.warmup * accumulation, steps * accumulation)
    seconds = sum(times[args.warmup :])
    useful = sum(b[0] for b in batches[timed])
    loss_tokens = sum(b[1] for b in batches[timed])
    return {
        "step_s": [round(t, 3) for t in times],
        "forward_backward_s": [round(p[0], 3) for p in phases],
        "optimizer_s": [round(p[1], 3) for p in phases],
        "rows_per_micro_batch": micro,
        "accumulation": accumulation,
        "steps_timed": len(times) - args.warmup,
        "seconds": round(seconds, 3),
        "useful_tokens_per_s": round(useful / seconds, 1),
        "loss_tokens_per_s": round(loss_tokens / seconds, 1),
    }


def check_kernel(device: str) -> dict[str, Any]:
    """The packed attention against masked SDPA in float32: relative errors of output, grads."""
    import torch

    from posttrainbench.agents import _packing

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    lengths = [300, 17, 1024, 5, 700]
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
    total, heads, kv_heads, dim = sum(lengths), 32, 8, 128
    module = torch.nn.Module()
    module.num_key_value_groups = heads // kv_heads  # type: ignore[assignment]
    fast_path = device == "cuda" and _packing.varlen_kernel() is not None
    errors: dict[str, Any] = {"kernel": "varlen flash" if fast_path else "masked sdpa"}
    shapes = ((1, heads, total, dim), (1, kv_heads, total, dim), (1, kv_heads, total, dim))
    inputs = [torch.randn(s, device=device, dtype=dtype, requires_grad=True) for s in shapes]
    grad = torch.randn((1, total, heads, dim), device=device, dtype=dtype)
    out, _ = _packing.packed_attention(
        module, *inputs, None, scaling=dim**-0.5, cu_seq_lens_q=cu, max_length_q=max(lengths)
    )
    out.backward(grad)
    fast = [out.detach(), *(t.grad for t in inputs)]
    ref_inputs = [t.detach().double().requires_grad_() for t in inputs]
    ref, _ = _packing.packed_attention(
        module, *ref_inputs, None, scaling=dim**-0.5, cu_seq_lens_q=cu.to(device)
    )
    ref.backward(grad.double())
    refs = [ref.detach(), *(t.grad for t in ref_inputs)]
    for name, a, b in zip(("out", "dq", "dk", "dv"), fast, refs, strict=True):
        errors[name] = float((a.double() - b).norm() / b.norm())
    return errors


def _now(cuda: bool) -> float:
    """Seconds on the host clock after the device's queued work is done."""
    if cuda:
        import torch

        torch.cuda.synchronize()
    return time.perf_counter()


def main() -> None:
    import torch
    from transformers import AutoTokenizer

    from posttrainbench.agents import sft_recipe
    from posttrainbench.testing import build_tiny_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shape", default="qwen3-4b")
    parser.add_argument("--datasets", nargs="*", default=["gsm8k", "numinamath-cot", "no-robots"])
    parser.add_argument("--steps", type=int, default=4, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    parser.add_argument("--memory-cap-gib", type=float, default=79.0)
    parser.add_argument("--out", type=Path, help="folder for packing.json")
    parser.add_argument("--check-only", action="store_true", help="only the kernel check")
    args = parser.parse_args()
    kernel_check = check_kernel("cuda" if torch.cuda.is_available() else "cpu")
    print("kernel check (relative error vs float64 masked SDPA):", json.dumps(kernel_check))
    if args.check_only:
        return
    sft_recipe.use_one_gpu()
    cuda = torch.cuda.is_available()
    if cuda:
        total = torch.cuda.get_device_properties(0).total_memory
        cap = args.memory_cap_gib * 2**30
        if total > cap:
            torch.cuda.set_per_process_memory_fraction(cap / total)
    model = build_model(args.shape, "cuda" if cuda else "cpu", torch.bfloat16 if cuda else None)
    params = sum(p.numel() for p in model.parameters())
    settings = sft_recipe.train_settings(on_gpu=cuda)
    sft_recipe.prepare_model(model, settings)
    report: dict[str, Any] = {
        "card": torch.cuda.get_device_name(0) if cuda else "cpu",
        "torch": torch.__version__,
        "shape": args.shape,
        "params": params,
        "max_length": settings.max_length,
        "records_per_step": BATCH,
        "histograms": str(HISTOGRAMS.name),
        "kernel_check": kernel_check,
        "rows": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = AutoTokenizer.from_pretrained(build_tiny_model(Path(tmp), preset="test"))
    count = BATCH * (args.warmup + args.steps + 2)
    for dataset in args.datasets:
        rows = draw_rows(dataset, count, settings.max_length, model.config.vocab_size)
        for mode, packing in (("padded", False), ("packed", True)):
            result = measure(model, tokenizer, rows, replace(settings, packing=packing), args)
            result["mfu"] = round(
                result["useful_tokens_per_s"] * 6 * params / (args.peak_tflops * 1e12), 4
            )
            row = {"dataset": dataset, "mode": mode, **result}
            report["rows"].append(row)
            print(json.dumps(row), flush=True)
    for row in report["rows"]:
        base = next(
            r for r in report["rows"] if r["dataset"] == row["dataset"] and r["mode"] == "padded"
        )
        speedup = row["useful_tokens_per_s"] / base["useful_tokens_per_s"]
        row["speedup_vs_padded"] = round(speedup, 2)
    if cuda:
        report["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
        report["alloc_retries"] = torch.cuda.memory_stats().get("num_alloc_retries", 0)
    _print_table(report)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "packing.json").write_text(json.dumps(report, indent=1) + "\n")


def _print_table(report: dict[str, Any]) -> None:
    head = f"{'dataset':16} {'mode':7} {'useful tok/s':>12} {'loss tok/s':>10} {'MFU':>6}"
    print(f"\n{head} {'x':>5}")
    for row in report["rows"]:
        print(
            f"{row['dataset']:16} {row['mode']:7} {row['useful_tokens_per_s']:>12.0f} "
            f"{row['loss_tokens_per_s']:>10.0f} {row['mfu']:>6.1%} {row['speedup_vs_padded']:>5.2f}"
        )
    print(f"card: {report['card']}; {report['shape']}; MFU = 6N x useful tokens/s / peak")


if __name__ == "__main__":
    main()
