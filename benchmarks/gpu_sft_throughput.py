"""Training throughput of the reference recipe on a GPU: tokens/s, MFU and peak memory.

A random-weight model of the real Qwen3-4B's shape (4.02 B parameters, tied embeddings)
trains on synthetic full-length rows (2048 tokens, loss on every token) for a few steps in
each configuration, each in its own process so that one running out of memory leaves the
others' numbers intact. ``torch-*`` rows are a plain PyTorch loop (HF model, full logits,
``loss.backward``, AdamW): the baseline. ``recipe-*`` rows go through the recipe's own
``prepare_model`` and ``build_trainer`` (TRL SFTTrainer with its chunked LM head), so they
describe what the reference agent runs.

MFU counts 6N FLOPs per token for full fine-tuning and 4N for LoRA (no weight gradients of
the frozen base), N = all parameters, against ``--peak-tflops`` (989: the H100/H200 SXM
dense bf16 datasheet figure); attention FLOPs are not counted. On a card with more memory
than an H100, ``--memory-cap-gib`` (default 79) limits PyTorch to an H100's worth, so the
chosen setting fits both.

Run (device): PYTHONUNBUFFERED=1 python benchmarks/gpu_sft_throughput.py --out $OUT
Run (CPU smoke test): python benchmarks/gpu_sft_throughput.py --shape tiny --steps 2
Prints one JSON line per configuration, then a table; ``--out`` also gets the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHAPES: dict[str, dict[str, Any]] = {
    # The real Qwen3-4B's config.json, weights random.
    "qwen3-4b": {
        "hidden_size": 2560,
        "num_hidden_layers": 36,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "intermediate_size": 9728,
        "vocab_size": 151936,
        "tie_word_embeddings": True,
        "max_position_embeddings": 40960,
        "rope_theta": 1_000_000.0,
        "rms_norm_eps": 1e-6,
    },
    # For checking the script on a CPU.
    "tiny": {
        "hidden_size": 64,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "intermediate_size": 128,
        "vocab_size": 1000,
        "tie_word_embeddings": True,
    },
}


@dataclass(frozen=True)
class Config:
    """One measured configuration."""

    name: str
    engine: str
    """``torch`` (plain loop) or ``recipe`` (the recipe's SFTTrainer)."""
    micro_batch: int
    checkpoint_fraction: float | None
    """Share of layers recomputed; None: the recipe's own choice for the GPU's memory."""
    liger: bool = False
    fused_adamw: bool = True
    lora_rank: int | None = None
    compile: bool = False


CONFIGS = [
    # The reference point: grad checkpointing, micro-batch 8, full logits.
    Config("torch-ckpt-mb8", "torch", 8, 1.0, fused_adamw=False),
    Config("recipe-ckpt-mb8", "recipe", 8, 1.0),
    Config("recipe-liger-ckpt-mb8", "recipe", 8, 1.0, liger=True),
    Config("recipe-liger-ckpt-mb16", "recipe", 16, 1.0, liger=True),
    Config("recipe-liger-half-mb8", "recipe", 8, 0.5, liger=True),
    Config("recipe-liger-none-mb4", "recipe", 4, 0.0, liger=True),
    Config("recipe-liger-none-mb6", "recipe", 6, 0.0, liger=True),
    Config("recipe-lora16-ckpt-mb8", "recipe", 8, 1.0, lora_rank=16),
    Config("recipe-lora16-liger-none-mb8", "recipe", 8, 0.0, liger=True, lora_rank=16),
    Config("recipe-compile-none-mb4", "recipe", 4, 0.0, compile=True),
    # What the recipe picks by itself (checkpointing sized to the GPU's memory).
    Config("recipe-auto-mb4", "recipe", 4, None, liger=True),
]


def build_model(shape: str, device: str, dtype: Any) -> Any:
    """A random-weight Qwen3 model of ``shape`` on ``device``."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen3Config

    torch.manual_seed(0)
    config = Qwen3Config(**SHAPES[shape], attn_implementation="sdpa", use_cache=False)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(config, dtype=dtype)


def run_torch(model: Any, cfg: Config, seq: int, steps: int, device: str) -> list[float]:
    """Plain PyTorch training steps; seconds per step."""
    import torch

    if cfg.checkpoint_fraction:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    fused = cfg.fused_adamw and device == "cuda"
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0, fused=fused)
    vocab = model.config.vocab_size
    times = []
    for _ in range(steps):
        ids = torch.randint(0, vocab, (cfg.micro_batch, seq), device=device)
        _sync(device)
        start = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def run_recipe(model: Any, cfg: Config, seq: int, steps: int, device: str) -> list[float]:
    """Training steps through the recipe's SFTTrainer; seconds per step."""
    import datasets
    from transformers import AutoTokenizer, PrinterCallback, TrainerCallback

    from posttrainbench.agents import sft_recipe
    from posttrainbench.testing import build_tiny_model

    settings = replace(
        sft_recipe.train_settings(on_gpu=device == "cuda"),
        micro_batch=cfg.micro_batch,
        checkpoint_fraction=cfg.checkpoint_fraction,
        liger=cfg.liger,
        fused_adamw=cfg.fused_adamw and device == "cuda",
        lora_rank=cfg.lora_rank,
        compile=cfg.compile,
        max_length=seq,
    )
    sft_recipe.prepare_model(model, settings)
    vocab = model.config.vocab_size
    generator = random.Random(0)
    rows = [
        {
            "input_ids": [generator.randrange(vocab) for _ in range(seq)],
            "completion_mask": [1] * seq,
        }
        for _ in range(cfg.micro_batch * (steps + 1))
    ]
    times: list[float] = []

    class _Timer(TrainerCallback):  # type: ignore[misc]
        start = 0.0

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            _sync(device)
            self.start = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            _sync(device)
            times.append(time.perf_counter() - self.start)

    with tempfile.TemporaryDirectory(prefix="ptb-sft-bench-") as tmp:
        tokenizer = AutoTokenizer.from_pretrained(
            build_tiny_model(Path(tmp) / "tok", preset="test")
        )
        trainer = sft_recipe.build_trainer(
            model,
            tokenizer,
            datasets.Dataset.from_list(rows),
            settings,
            scratch=Path(tmp) / "scratch",
            max_steps=steps,
            learning_rate=1e-5,
            batch_size=cfg.micro_batch,
            callbacks=[_Timer()],
        )
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    return times


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Measure one configuration in this process; the result row."""
    import torch

    cfg = next(c for c in CONFIGS if c.name == args.worker)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        total = torch.cuda.get_device_properties(0).total_memory
        cap = args.memory_cap_gib * 2**30
        if total > cap:
            torch.cuda.set_per_process_memory_fraction(cap / total)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = build_model(args.shape, device, dtype)
    params = sum(p.numel() for p in model.parameters())
    run = run_torch if cfg.engine == "torch" else run_recipe
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = run(model, cfg, args.seq, args.warmup + args.steps, device)
    timed = sorted(times[args.warmup :])
    step_s = timed[len(timed) // 2]
    tokens = cfg.micro_batch * args.seq
    flops_per_token = (4 if cfg.lora_rank else 6) * params
    tokens_per_s = tokens / step_s
    return {
        **asdict(cfg),
        "card": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "params": params,
        "seq": args.seq,
        "step_s_median": round(step_s, 4),
        "steps_timed": len(timed),
        "tokens_per_s": round(tokens_per_s, 1),
        "flops_per_token": f"{4 if cfg.lora_rank else 6}N",
        "mfu": round(tokens_per_s * flops_per_token / (args.peak_tflops * 1e12), 4),
        "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if device == "cuda"
        else None,
        "torch": torch.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="qwen3-4b")
    parser.add_argument("--seq", type=int, default=None, help="default: 2048 (64 for tiny)")
    parser.add_argument("--steps", type=int, default=4, help="timed steps (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--configs", nargs="*", help="names to run (default: all)")
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    parser.add_argument("--memory-cap-gib", type=float, default=79.0)
    parser.add_argument("--timeout-s", type=float, default=240.0, help="per configuration")
    parser.add_argument("--budget-s", type=float, default=540.0, help="skip configs after this")
    parser.add_argument("--out", type=Path, help="folder for sft_throughput.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seq is None:
        args.seq = 64 if args.shape == "tiny" else 2048
    if args.worker:
        print("RESULT " + json.dumps(worker(args)), flush=True)
        return
    from posttrainbench.agents.sft_recipe import use_one_gpu

    use_one_gpu()  # the workers inherit it: one process trains on one GPU
    start = time.monotonic()
    rows: list[dict[str, Any]] = []
    liger_broken = False
    for cfg in CONFIGS:
        if args.configs and cfg.name not in args.configs:
            continue
        left = args.budget_s - (time.monotonic() - start)
        if left < 20 or (cfg.liger and liger_broken):
            why = "out of budget" if left < 20 else "Liger failed above"
            rows.append({"name": cfg.name, "error": f"skipped: {why}"})
            continue
        rows.append(_run_worker(cfg, args, min(args.timeout_s, left)))
        error = rows[-1].get("error", "")
        liger_broken |= cfg.liger and error.startswith("failed")
        print(json.dumps(rows[-1]), flush=True)
    _print_table(rows)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "sft_throughput.json").write_text(json.dumps(rows, indent=1))


def _run_worker(cfg: Config, args: argparse.Namespace, timeout: float) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--worker", cfg.name, "--shape", args.shape]
    argv += ["--seq", str(args.seq), "--steps", str(args.steps), "--warmup", str(args.warmup)]
    argv += ["--peak-tflops", str(args.peak_tflops), "--memory-cap-gib", str(args.memory_cap_gib)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"name": cfg.name, "error": f"timeout after {timeout:.0f}s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    kind = "out of memory" if "OutOfMemoryError" in done.stderr else "failed"
    return {"name": cfg.name, "error": f"{kind}: {' | '.join(tail)[-400:]}"}


def _print_table(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'config':32} {'tok/s':>9} {'MFU':>6} {'step s':>7} {'peak GiB':>8}")
    for row in rows:
        if "error" in row:
            print(f"{row['name']:32} {row['error'][:90]}")
            continue
        mem = row["peak_mem_gib"]
        print(
            f"{row['name']:32} {row['tokens_per_s']:>9.0f} {row['mfu']:>6.1%} "
            f"{row['step_s_median']:>7.3f} {mem if mem is not None else '-':>8}"
        )
    cards = {row.get("card") for row in rows if "card" in row}
    print(f"card: {', '.join(sorted(c for c in cards if c))}; MFU vs peak in --peak-tflops")


if __name__ == "__main__":
    main()
