"""Evaluation at paper scale on the ``hf`` path: a GSM8K-shaped workload, 5 seeds, one load.

1,319 prompts (GSM8K's test size) with lengths from the ``gsm8k-eval-prompts`` histogram
in ``benchmarks/data/sft_lengths.json``, 5 seeds each, up to 300 new tokens sampled at
temperature 0.6, on a random-weight model of the Qwen3-4B shape (random weights rarely
stop early, so nearly every row runs to 300 tokens: the worst case). Three parts:

- ``batched``: the whole workload through ``evaluation/_batched_decode.decode_all``
  (length-bucketed batches, static cache, compiled decode step), timed end to end
  including compilation; ``--budget-s`` stops it early and the report says so;
- ``baseline``: eager ``generate`` with the dynamic cache at batch 32 (the shape of
  inspect's ``hf`` provider) on the same pairs, a few batches, in the same run;
- ``check``: greedy decoding of a few prompts one by one, eager and unpadded, against the
  same prompts through ``decode_all``: equal tokens, or where they part.

Run (device): PYTHONUNBUFFERED=1 python benchmarks/gpu_eval_decode.py --out $OUT
Run (CPU smoke test): python benchmarks/gpu_eval_decode.py --shape tiny --prompts 8
  --seeds 2 --new-tokens 8 --batch 4 --baseline-batches 1 --check 2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_sft_throughput import build_model  # noqa: E402

HISTOGRAMS = Path(__file__).resolve().parent / "data" / "sft_lengths.json"


def draw_prompts(count: int, vocab: int) -> list[list[int]]:
    """``count`` random prompts with GSM8K evaluation prompt lengths."""
    bins = json.loads(HISTOGRAMS.read_text())["datasets"]["gsm8k-eval-prompts"]["bins"]
    rng = random.Random(0)
    prompts = []
    for _ in range(count):
        low, high, _share = rng.choices(bins, weights=[b[2] for b in bins])[0]
        prompts.append([rng.randrange(vocab - 2) for _ in range(rng.randrange(low, high))])
    return prompts


def batched(model: Any, prompts: list[list[int]], args: argparse.Namespace) -> dict[str, Any]:
    """The whole workload through ``decode_all``, in pieces so the budget can stop it."""
    from posttrainbench.evaluation._batched_decode import DecodeSettings, decode_all

    settings = DecodeSettings(args.new_tokens, args.batch, temperature=0.6, top_p=0.95)
    vocab = model.config.vocab_size
    start, tokens, pairs = _now(), 0, 0
    # Longest prompts first: the first call sizes the static cache for all others.
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    piece = max(1, args.batch // len(args.seeds)) * 4
    first_s = None

    def progress(done: int, total: int) -> None:
        print(f"  {pairs + done}/{len(order) * len(args.seeds)} pairs, {_now() - start:.0f} s")

    for at in range(0, len(order), piece):
        chunk = [prompts[i] for i in order[at : at + piece]]
        out = decode_all(
            model,
            chunk,
            args.seeds,
            settings,
            pad_id=vocab - 1,
            stop_ids=[vocab - 1],
            progress=progress,
        )
        tokens += sum(len(t) for t in out.values())
        pairs += len(out)
        first_s = first_s or _now() - start
        if _now() - start > args.budget_s:
            break
    seconds = _now() - start
    return {
        "pairs_done": pairs,
        "pairs_total": len(prompts) * len(args.seeds),
        "complete": pairs == len(prompts) * len(args.seeds),
        "seconds": round(seconds, 1),
        "first_piece_s_with_compile": round(first_s or 0, 1),
        "new_tokens": tokens,
        "decode_tokens_per_s": round(tokens / seconds, 1),
        "projected_workload_s": round(seconds * len(prompts) * len(args.seeds) / pairs, 1),
        "cache_kept_by_model": type(getattr(model, "_cache", None)).__name__,
    }


def baseline(model: Any, prompts: list[list[int]], args: argparse.Namespace) -> dict[str, Any]:
    """Eager ``generate``, dynamic cache, batch 32, on the first pairs: tokens/s."""
    from posttrainbench.evaluation._batched_decode import DecodeSettings, decode_all

    settings = DecodeSettings(args.new_tokens, 32, 0.6, 0.95, static_cache=False)
    vocab = model.config.vocab_size
    chunk = prompts[: 32 * args.baseline_batches]
    start = _now()
    out = decode_all(model, chunk, [0], settings, pad_id=vocab - 1, stop_ids=[vocab - 1])
    seconds = _now() - start
    tokens = sum(len(t) for t in out.values())
    per_s = round(tokens / seconds, 1)
    return {"pairs": len(out), "seconds": round(seconds, 1), "decode_tokens_per_s": per_s}


def check(model: Any, prompts: list[list[int]], args: argparse.Namespace) -> dict[str, Any]:
    """Greedy: one prompt at a time, eager and unpadded, vs batched static-cache decoding."""
    import torch

    from posttrainbench.evaluation._batched_decode import DecodeSettings, decode_all

    vocab = model.config.vocab_size
    chosen = prompts[: args.check]
    settings = DecodeSettings(args.check_tokens, args.batch)
    fast = decode_all(model, chosen, [0], settings, pad_id=vocab - 1, stop_ids=[vocab - 1])
    agree = []
    for index, prompt in enumerate(chosen):
        ids = torch.tensor([prompt], device=model.device)
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=args.check_tokens,
                do_sample=False,
                eos_token_id=[vocab - 1],
                pad_token_id=vocab - 1,
                disable_compile=True,
            )
        eager = out[0, ids.shape[1] :].tolist()
        same = next(
            (i for i, (a, b) in enumerate(zip(eager, fast[(index, 0)], strict=False)) if a != b),
            min(len(eager), len(fast[(index, 0)])),
        )
        agree.append(same)
    return {
        "prompts": len(chosen),
        "tokens_each": args.check_tokens,
        "identical": sum(a == args.check_tokens for a in agree),
        "tokens_equal_before_first_difference": agree,
    }


def _now() -> float:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter()


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shape", default="qwen3-4b")
    parser.add_argument("--prompts", type=int, default=1319)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--new-tokens", type=int, default=300)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--baseline-batches", type=int, default=2)
    parser.add_argument("--check", type=int, default=8, help="prompts in the greedy check")
    parser.add_argument("--check-tokens", type=int, default=32)
    parser.add_argument("--budget-s", type=float, default=420.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    model = build_model(args.shape, "cuda" if cuda else "cpu", torch.bfloat16 if cuda else None)
    model.eval()
    model.config.use_cache = True  # the training shape turns it off
    prompts = draw_prompts(args.prompts, model.config.vocab_size)
    report: dict[str, Any] = {
        "card": torch.cuda.get_device_name(0) if cuda else "cpu",
        "torch": torch.__version__,
        "shape": args.shape,
        "prompts": args.prompts,
        "seeds": len(args.seeds),
        "new_tokens": args.new_tokens,
        "batch": args.batch,
    }
    for name, part in (("batched", batched), ("check", check), ("baseline", baseline)):
        report[name] = part(model, prompts, args)
        print(name, json.dumps(report[name]), flush=True)
    report["speedup_vs_baseline"] = round(
        report["batched"]["decode_tokens_per_s"] / report["baseline"]["decode_tokens_per_s"], 2
    )
    b = report["batched"]
    print(f"\n{'path':28} {'tok/s':>9} {'seconds':>8}")
    print(f"{'eager, dynamic cache, b32':28} {report['baseline']['decode_tokens_per_s']:>9.0f}")
    print(f"{'decode_all, static+compile':28} {b['decode_tokens_per_s']:>9.0f} {b['seconds']:>8}")
    print(
        f"workload {b['pairs_done']}/{b['pairs_total']} pairs; projected whole workload "
        f"{b['projected_workload_s']} s; greedy check identical "
        f"{report['check']['identical']}/{report['check']['prompts']}; card {report['card']}"
    )
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "eval_decode.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
