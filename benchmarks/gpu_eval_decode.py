"""Evaluation at paper scale on the ``hf`` path: a GSM8K-shaped workload, 5 seeds, one load.

1,319 prompts (GSM8K's test size) with lengths from the ``gsm8k-eval-prompts`` histogram
in ``benchmarks/data/sft_lengths.json``, 5 seeds each (per-request seeds as the paper
protocol makes them, :func:`~posttrainbench.evaluation.protocol.sample_seed`), up to 300
new tokens sampled at temperature 0.6 / top-p 0.95, on a random-weight model of the
Qwen3-4B shape (random weights rarely stop early, so nearly every row runs to 300 tokens:
the worst case). GPU memory is capped (``--mem-gib``, default an H100's 80 GB) with
``torch.cuda.set_per_process_memory_fraction``. Parts, in one invocation:

- ``batched``: the whole workload through ``evaluation/_batched_decode.decode_all`` (what
  the ``ptb-hf`` engine runs), timed end to end including compilation; ``--budget-s``
  stops it between batches and the report says so;
- ``baseline``: eager ``generate`` with the dynamic cache at batch 32 (the shape of
  inspect's ``hf`` provider) on the same requests, a few batches;
- ``check``: greedy, a few prompts through ``decode_all`` against eager unpadded
  ``generate`` one by one: equal tokens, or where they part (random weights give near
  ties, so bf16 differences show early; the real-weights check is a CPU test).

Run (device): PYTHONUNBUFFERED=1 PYTHONPATH=src python benchmarks/gpu_eval_decode.py --out $OUT
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


def _light_evaluation_package() -> None:
    """Import ``posttrainbench.evaluation``'s decode modules without its ``__init__``.

    The GPU machine has torch and transformers but not inspect-ai or pydantic, which the
    package's ``__init__`` (the evaluation engine) needs; the decode loop needs neither.
    """
    import importlib.util
    import types

    if importlib.util.find_spec("pydantic") is not None:
        return
    src = Path(__file__).resolve().parents[1] / "src" / "posttrainbench"
    for name, folder in (
        ("posttrainbench", src),
        ("posttrainbench.evaluation", src / "evaluation"),
    ):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules.setdefault(name, package)


HISTOGRAMS = Path(__file__).resolve().parent / "data" / "sft_lengths.json"
FINAL_SEEDS = (72332, 87681, 38992, 92201, 13818)
"""``evaluation.protocol.FINAL_SEEDS`` (a test checks they agree)."""
RESULTS = Path(__file__).resolve().parent / "results" / "eval_decode_h200.json"


def draw_prompts(count: int, vocab: int) -> list[list[int]]:
    """``count`` random prompts with GSM8K evaluation prompt lengths."""
    bins = json.loads(HISTOGRAMS.read_text())["datasets"]["gsm8k-eval-prompts"]["bins"]
    rng = random.Random(0)
    prompts = []
    for _ in range(count):
        low, high, _share = rng.choices(bins, weights=[b[2] for b in bins])[0]
        prompts.append([rng.randrange(vocab - 2) for _ in range(rng.randrange(low, high))])
    return prompts


def requests_for(prompts: list[list[int]], seeds: list[int], new_tokens: int) -> list[Any]:
    """One request per (seed, prompt), seeded per request like the paper protocol."""
    from posttrainbench.evaluation._batched_decode import Request
    from posttrainbench.evaluation._sampling import sample_seed

    return [
        Request(prompt, sample_seed(seed, index), new_tokens)
        for seed in seeds
        for index, prompt in enumerate(prompts)
    ]


def batched(model: Any, requests: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    """The workload through ``decode_batches`` (what ``decode_all`` runs), timed."""
    from posttrainbench.evaluation._batched_decode import DecodeSettings, decode_batches
    from posttrainbench.evaluation._sampling import SamplingParams

    sampling = SamplingParams(temperature=args.temperature, top_p=args.top_p)
    settings = DecodeSettings(batch_size=args.batch, sampling=sampling)
    vocab = model.config.vocab_size
    start, tokens, done, first, rows = _now(), 0, 0, (0.0, 0), 0
    batches = decode_batches(model, requests, settings, pad_id=vocab - 1, stop_ids=[vocab - 1])
    for indices, new in batches:
        tokens += sum(len(t) for t in new)
        done += len(indices)
        rows = rows or len(indices)
        first = first if first[1] else (_now() - start, tokens)
        rate = tokens / (_now() - start)
        print(
            f"  batched: {done}/{len(requests)} requests, {_now() - start:.0f} s, {rate:.0f} tok/s"
        )
        if _now() - start > args.budget_s:
            break
    seconds = _now() - start
    steady = (tokens - first[1]) / (seconds - first[0]) if tokens > first[1] else 0.0
    return {
        "requests_done": done,
        "requests_total": len(requests),
        "rows_per_batch": rows,
        "complete": done == len(requests),
        "seconds": round(seconds, 1),
        "first_batch_s_with_compile": round(first[0], 1),
        "new_tokens": tokens,
        "decode_tokens_per_s": round(tokens / seconds, 1),
        "decode_tokens_per_s_after_first_batch": round(steady, 1),
        "projected_workload_s": round(seconds * len(requests) / done, 1),
    }


def baseline(model: Any, requests: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    """Eager ``generate`` at batch 32 with the dynamic cache (inspect's ``hf`` shape)."""
    import torch

    vocab = model.config.vocab_size
    size = 32 if model.device.type == "cuda" else args.batch
    start, tokens = _now(), 0
    for b in range(args.baseline_batches):
        rows = [r.prompt for r in requests[b * size : (b + 1) * size]]
        ids, mask = _left_padded(rows, vocab - 1)
        torch.manual_seed(b)
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids.to(model.device),
                attention_mask=mask.to(model.device),
                max_new_tokens=args.new_tokens,
                do_sample=True,
                temperature=args.temperature,
                top_p=args.top_p,
                top_k=None,
                pad_token_id=vocab - 1,
                eos_token_id=vocab - 1,
            )
        tokens += (out[:, ids.shape[1] :] != vocab - 1).sum().item()
    seconds = _now() - start
    return {
        "batch": size,
        "requests": size * args.baseline_batches,
        "seconds": round(seconds, 1),
        "decode_tokens_per_s": round(tokens / seconds, 1),
    }


def check(model: Any, prompts: list[list[int]], args: argparse.Namespace) -> dict[str, Any]:
    """Greedy through ``decode_all`` against eager unpadded ``generate``, per prompt."""
    import torch

    from posttrainbench.evaluation._batched_decode import DecodeSettings, Request, decode_all

    vocab, count = model.config.vocab_size, 32
    chosen = prompts[: args.check]
    fast = decode_all(
        model,
        [Request(p, 0, count) for p in chosen],
        DecodeSettings(batch_size=args.check),
        pad_id=vocab - 1,
        stop_ids=[vocab - 1],
    )
    agree = []
    for prompt, tokens in zip(chosen, fast, strict=True):
        with torch.inference_mode():
            ref = model.generate(
                torch.tensor([prompt], device=model.device),
                max_new_tokens=count,
                do_sample=False,
                pad_token_id=vocab - 1,
                eos_token_id=vocab - 1,
            )[0, len(prompt) :].tolist()
        same = next(
            (i for i, (a, b) in enumerate(zip(ref, tokens, strict=False)) if a != b), len(ref)
        )
        agree.append(same)
    return {
        "prompts": len(chosen),
        "tokens_each": count,
        "identical": sum(n == count for n in agree),
        "tokens_equal_before_first_difference": agree,
    }


def _left_padded(rows: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row)
        mask[i, width - len(row) :] = 1
    return ids, mask


def _now() -> float:
    return time.perf_counter()


def main() -> None:
    import torch

    _light_evaluation_package()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="qwen3-4b")
    parser.add_argument("--prompts", type=int, default=1319)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=300)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--mem-gib", type=float, default=80.0)
    parser.add_argument("--baseline-batches", type=int, default=2)
    parser.add_argument("--check", type=int, default=8)
    parser.add_argument("--budget-s", type=float, default=480.0)
    parser.add_argument("--skip", default="", help="comma list of parts to skip")
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    if cuda:
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.mem_gib * 2**30 / total))
    model = build_model(args.shape, device, torch.bfloat16 if cuda else torch.float32).eval()
    model.config.use_cache = True
    prompts = draw_prompts(args.prompts, model.config.vocab_size)
    requests = requests_for(prompts, list(FINAL_SEEDS[: args.seeds]), args.new_tokens)
    report: dict[str, Any] = {
        "card": torch.cuda.get_device_name(0) if cuda else "cpu",
        "memory_cap_gib": args.mem_gib if cuda else None,
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "shape": args.shape,
        "prompts": args.prompts,
        "seeds": args.seeds,
        "new_tokens": args.new_tokens,
        "batch": args.batch,
        "sampling": {"temperature": args.temperature, "top_p": args.top_p},
    }
    skip = set(args.skip.split(","))
    for name, part in (("batched", batched), ("baseline", baseline), ("check", check)):
        if name in skip:
            continue
        print(f"{name} ...", flush=True)
        report[name] = part(model, prompts if name == "check" else requests, args)
        if cuda:
            report[name]["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
            torch.cuda.reset_peak_memory_stats()
        print(json.dumps({name: report[name]}), flush=True)
        if args.out is not None:  # what is done so far survives a timeout
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / RESULTS.name).write_text(json.dumps(report, indent=1) + "\n")
    if "batched" in report and "baseline" in report:
        fast = report["batched"]["decode_tokens_per_s"]
        report["speedup_vs_baseline"] = round(fast / report["baseline"]["decode_tokens_per_s"], 2)
    text = json.dumps(report, indent=1)
    print(text)
    _table(report)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / RESULTS.name).write_text(text + "\n")


def _table(report: dict[str, Any]) -> None:
    print(f"\n{'part':<10} {'decode tok/s':>13} {'seconds':>9}  note")
    for name in ("batched", "baseline"):
        row = report.get(name)
        if row:
            note = "complete" if row.get("complete") else f"{row.get('requests', '')}"
            if name == "batched" and not row["complete"]:
                note = f"{row['requests_done']}/{row['requests_total']} requests"
                note += f", projected {row['projected_workload_s']} s"
            print(f"{name:<10} {row['decode_tokens_per_s']:>13} {row['seconds']:>9}  {note}")


if __name__ == "__main__":
    main()
